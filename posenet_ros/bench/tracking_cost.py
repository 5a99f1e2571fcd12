"""Cost of tracking: tracker (+ smoothing) milliseconds per frame for N people.

The people are one real PoseNet detection (messi5.jpg) copied side by side, each walking
with its own speed and keypoint noise, so association and filters do real work.

The machine is shared, so a plain mean measures the neighbours too. Each frame's update is
timed on its own and the sequence is replayed ``repeats`` times; a frame's cost is its
fastest replay (the least disturbed one), and the figure is the mean of those over the
sequence. The same is done for a reference computation in the same process (one
``np.linalg.norm`` of a (10, 17, 2) array: the fixed cost of a small NumPy call), so the
ratio tracker / reference says what the figure would be on a quieter or faster machine.
"""
from __future__ import annotations

import os
import time

import numpy as np

from posenet_ros.core import paths
from posenet_ros.core.pose import Pose
from posenet_ros.estimator import PoseEstimator
from posenet_ros.imaging.files import read_image
from posenet_ros.stages.track.tracker import PoseTracker, TrackerConfig


def crowd(template: Pose, people: int, frames: int, fps: float = 10.0,
          seed: int = 0) -> list[list[Pose]]:
    """``frames`` frames of ``people`` copies of ``template`` walking at their own pace."""
    rng = np.random.default_rng(seed)
    speed = rng.uniform(-150, 150, size=(people, 2))
    start = np.stack([np.arange(people) * 220.0, np.zeros(people)], axis=1)
    out = []
    for i in range(frames):
        shift = start + speed * i / fps
        noise = rng.normal(0, 1.5, size=(people, 17, 2))
        out.append([Pose(template.score, template.positions + shift[k] + noise[k],
                         template.keypoint_scores) for k in range(people)])
    return out


def tracker_cost(template: Pose, people: int = 10, frames: int = 200, repeats: int = 15,
                 smoothing: bool = True, reid: bool = False) -> float:
    """Milliseconds per frame of :meth:`PoseTracker.update` (per-frame best of ``repeats``).

    ``reid``: re-identification on, each frame given a 1280 x 720 image to take looks from.
    """
    sequence = crowd(template, people, frames)
    best = np.full(frames, np.inf)
    clock = time.perf_counter
    image = np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    config = TrackerConfig(smoothing=smoothing, reid_max_age=3.0 if reid else 0.0)
    for _ in range(repeats):
        tracker = PoseTracker(config)
        for i, poses in enumerate(sequence):
            start = clock()
            tracker.update(poses, i / 10.0, image=image if reid else None)
            best[i] = min(best[i], clock() - start)
    return float(best.mean() * 1e3)


def reference_cost(calls: int = 200, repeats: int = 15) -> float:
    """Milliseconds of one ``np.linalg.norm`` of a (10, 17, 2) array, timed like the tracker."""
    values = np.random.default_rng(0).normal(size=(10, 17, 2))
    best = np.full(calls, np.inf)
    clock = time.perf_counter
    for _ in range(repeats):
        for i in range(calls):
            start = clock()
            np.linalg.norm(values)
            best[i] = min(best[i], clock() - start)
    return float(best.mean() * 1e3)


def real_template() -> Pose:
    """Return the best pose PoseNet finds in messi5.jpg."""
    estimator = PoseEstimator(providers=("cpu",))
    result = estimator.estimate(read_image(paths.data_dir() / "messi5.jpg"))
    return result.poses[0]


if __name__ == "__main__":
    import sys
    template = real_template()
    load = os.getloadavg()
    reference = reference_cost()
    lines = [f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on "
             f"{os.cpu_count()} cores; reference np.linalg.norm((10, 17, 2)): "
             f"{reference * 1e3:.2f} us"]
    for smoothing, reid in ((False, False), (True, False), (False, True)):
        ms = tracker_cost(template, smoothing=smoothing, reid=reid)
        lines.append(f"10 people, smoothing {'on' if smoothing else 'off'}, re-id "
                     f"{'on' if reid else 'off'}: {ms:.3f} ms/frame "
                     f"({ms / reference:.0f} x reference)")
    sys.stdout.write("\n".join(lines) + "\n")
