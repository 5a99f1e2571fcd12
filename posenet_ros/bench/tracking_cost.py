"""Cost of tracking: tracker (+ smoothing) milliseconds per frame for N people.

The people are one real PoseNet detection (messi5.jpg) copied side by side, each walking
with its own speed and keypoint noise, so association and filters do real work. The figure
is the best of several blocks (the least disturbed by other load on the machine).
"""
from __future__ import annotations

import time

import numpy as np

from posenet_ros import paths
from posenet_ros.estimator import PoseEstimator
from posenet_ros.imageio import read_image
from posenet_ros.pose import Pose
from posenet_ros.track.tracker import PoseTracker, TrackerConfig


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


def tracker_cost(template: Pose, people: int = 10, frames: int = 200, blocks: int = 7,
                 smoothing: bool = True) -> float:
    """Milliseconds per frame of :meth:`PoseTracker.update` (best block)."""
    sequence = crowd(template, people, frames)
    best = float("inf")
    for _ in range(blocks):
        tracker = PoseTracker(TrackerConfig(smoothing=smoothing))
        start = time.perf_counter()
        for i, poses in enumerate(sequence):
            tracker.update(poses, i / 10.0)
        best = min(best, (time.perf_counter() - start) / frames)
    return best * 1e3


def real_template() -> Pose:
    """Return the best pose PoseNet finds in messi5.jpg."""
    estimator = PoseEstimator(providers=("cpu",))
    result = estimator.estimate(read_image(paths.data_dir() / "messi5.jpg"))
    return list(getattr(result, "poses", result))[0]


if __name__ == "__main__":
    import sys
    template = real_template()
    for smoothing in (False, True):
        ms = tracker_cost(template, smoothing=smoothing)
        sys.stdout.write(f"10 people, smoothing {'on' if smoothing else 'off'}: "
                         f"{ms:.3f} ms/frame\n")
