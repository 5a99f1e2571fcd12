"""Cost of tracking: tracker (+ smoothing) milliseconds per frame for N people.

The people are one real PoseNet detection (messi5.jpg) copied, each walking with its own
speed and keypoint noise in a 2560 x 1440 image, in their own part of it (turning back at
its edges), so association and filters do real work; in the contested case all walk
together side by side, so looks weigh every match (the worst case of re-identification's
cost).

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
from posenet_ros.stages.track.config import TrackerConfig
from posenet_ros.stages.track.tracker import PoseTracker

IMAGE_SIZE = (2560, 1440)     # width, height
# Pixels between neighbours walking together: their poses' keypoint similarity (OKS) is
# well above cascade.CONTEST_SIMILARITY, yet below the duplicate test's duplicate_oks.
CONTESTED_SPACING = 35.0


def crowd(template: Pose, people: int, frames: int, fps: float = 10.0, seed: int = 0,
          contested: bool = False, size: tuple[int, int] = IMAGE_SIZE) -> list[list[Pose]]:
    """``frames`` frames of ``people`` copies of ``template`` walking in a ``size`` image.

    Apart (the default), each walks at their own pace in their own part of the image (a
    grid of two rows), turning back at its edges: no two ever meet. ``contested``: all walk
    together, side by side :data:`CONTESTED_SPACING` apart, so every pose is near its own
    track and a neighbour's, and looks weigh every match.
    """
    rng = np.random.default_rng(seed)
    columns = max(1, -(-people // 2))
    cell = np.array(size, dtype=float) / ([columns, 2] if not contested else [1, 1])
    speed = rng.uniform(-150, 150, size=(1 if contested else people, 2))
    index = np.arange(people)
    if contested:
        corner = np.zeros((people, 2))
        start = np.stack([index * CONTESTED_SPACING, np.zeros(people)], axis=1) + 40.0
    else:
        corner = np.stack([index % columns, index // columns], axis=1) * cell
        start = corner + 40.0
    low = corner - template.positions.min(axis=0) + 8.0      # keypoint noise stays inside
    high = corner + cell - template.positions.max(axis=0) - 8.0
    out = []
    for i in range(frames):
        shift = _bounce(start + speed * i / fps, low, high)
        noise = rng.normal(0, 1.5, size=(people, 17, 2))
        out.append([Pose(template.score, template.positions + shift[k] + noise[k],
                         template.keypoint_scores) for k in range(people)])
    return out


def _bounce(shift: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Fold positions into [low, high] as a walker turning back at each edge would."""
    span = np.maximum(high - low, 1.0)
    phase = np.mod(shift - low, 2 * span)
    return low + np.where(phase > span, 2 * span - phase, phase)


def tracker_cost(template: Pose, people: int = 10, frames: int = 200, repeats: int = 15,
                 smoothing: bool = True, reid: bool = False, contested: bool = False) -> float:
    """Milliseconds per frame of :meth:`PoseTracker.update` (per-frame best of ``repeats``).

    ``reid``: re-identification on, each frame given an :data:`IMAGE_SIZE` image to take
    looks from;
    ``contested``: the people walk together (:func:`crowd`).
    """
    sequence = crowd(template, people, frames, contested=contested)
    best = np.full(frames, np.inf)
    clock = time.perf_counter
    image = np.random.default_rng(1).integers(0, 256, (*IMAGE_SIZE[::-1], 3), dtype=np.uint8)
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
    for smoothing, reid, contested in ((False, False, False), (True, False, False),
                                       (False, True, False), (False, True, True)):
        ms = tracker_cost(template, smoothing=smoothing, reid=reid, contested=contested)
        lines.append(f"10 people {'side by side' if contested else 'apart'}, smoothing "
                     f"{'on' if smoothing else 'off'}, re-id {'on' if reid else 'off'}: "
                     f"{ms:.3f} ms/frame ({ms / reference:.0f} x reference)")
    sys.stdout.write("\n".join(lines) + "\n")
