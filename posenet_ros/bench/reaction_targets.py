"""How often the follow target changes on a real video: acquisitions per minute, id-0 targets.

Run ``python -m posenet_ros.bench.reaction_targets``. The real engine (PoseNet multi-pose,
input 257) and the real tracker run over vtest.avi (pedestrians, no depth: "nearest" is the
tallest person in the image) with stamps from the video's frame rate; the detections are
made once, then each target setting replays them through :class:`Reactor` without ROS.

An acquisition is a ``target`` event that starts following someone. A robot re-aims at
each one, so on a street where nobody leaves the view for long a good setting acquires
rarely. ``id 0 targets`` counts acquisitions of an untracked (tentative) person: it must be
0, as such a person cannot be recognised in the next frame.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import fields
import sys
import time

import numpy as np

from posenet_ros.core import paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.pose import Pose
from posenet_ros.imaging.files import iter_video, video_fps
from posenet_ros.reactions.config import FollowConfig, TargetConfig
from posenet_ros.reactions.person import Frame, Person
from posenet_ros.reactions.reactor import Reactor, TARGET
from posenet_ros.stages.pipeline import PipelineSettings, PosePipeline

RESOLUTION = 257


def tracked_frames(limit: int | None = None) -> tuple[list[tuple[float, list[Pose]]], tuple]:
    """Detect and track vtest.avi once: [(stamp, poses)], and the image size."""
    video = paths.require(paths.sample_video(), "vtest.avi")
    fps = video_fps(video)
    pipeline = PosePipeline(PipelineSettings(EstimatorConfig(
        decoder="multi", input_resolution=RESOLUTION, providers=("cpu",))))
    frames, size = [], (0, 0)
    for index, image in enumerate(iter_video(video)):
        if limit is not None and index >= limit:
            break
        stamp = index / fps
        size = (image.shape[1], image.shape[0])
        frames.append((stamp, list(pipeline.process(image, stamp).poses)))
    return frames, size


def replay(frames: Sequence[tuple[float, list[Pose]]], size: tuple[int, int],
           target: TargetConfig) -> dict:
    """Feed the tracked frames to a Reactor; count acquisitions and how long each lasted."""
    reactor = Reactor(target=target, follow=FollowConfig(enabled=True))
    acquired: list[tuple[float, int]] = []
    with_target = 0
    for stamp, poses in frames:
        people = [Person.from_pose(pose) for pose in poses]
        reaction = reactor.step(Frame(stamp, size[0], size[1], people))
        with_target += reaction.target is not None
        acquired += [(stamp, e.track_id) for e in reaction.events
                     if e.kind == TARGET and e.started]
    minutes = (frames[-1][0] - frames[0][0]) / 60 if len(frames) > 1 else 0.0
    starts = [s for s, _ in acquired] + [frames[-1][0]]
    held = np.diff(starts) if len(acquired) else np.zeros(0)
    return {"acquisitions": len(acquired),
            "per_minute": len(acquired) / minutes if minutes else 0.0,
            "id0_targets": sum(1 for _, track_id in acquired if track_id == 0),
            "median_hold_s": float(np.median(held)) if len(held) else 0.0,
            "with_target": with_target / max(len(frames), 1)}


def main(argv: Sequence[str] | None = None) -> None:
    """Print one line per target setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=None, help="first N frames only")
    parser.add_argument("--switch-frames", type=int, nargs="+", default=None,
                        help="switch_frames values to compare (default: TargetConfig's)")
    parser.add_argument("--target-timeout", type=float, nargs="+", default=None,
                        help="target_timeout values to compare (default: TargetConfig's)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frames, size = tracked_frames(args.frames)
    detected = time.perf_counter() - started
    default = TargetConfig()
    settings = [TargetConfig(switch_frames=n, target_timeout=t)
                for n in args.switch_frames or [default.switch_frames]
                for t in args.target_timeout or [default.target_timeout]]
    out = [f"vtest.avi: {len(frames)} frames, {size[0]}x{size[1]}, PoseNet multi {RESOLUTION}, "
           f"detection + tracking {detected:.0f} s"]
    for setting in settings:
        row = replay(frames, size, setting)
        label = ", ".join(f"{item.name}={getattr(setting, item.name)}"
                          for item in fields(setting))
        out.append(f"{label}: {row['acquisitions']} acquisitions, {row['per_minute']:.1f}/min, "
                   f"id 0 targets {row['id0_targets']}, median hold {row['median_hold_s']:.1f}"
                   f" s, frames with the target in view {row['with_target']:.0%}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
