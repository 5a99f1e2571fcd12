"""MultiPose MoveNet: pose-detection 2.1.3 ``estimateMultiplePoses`` after the graph.

The graph gives six candidates [1, 6, 56]: 17 x (y, x, score) normalised to the padded input,
then a box (yMin, xMin, yMax, xMax) and the person's score. Candidates under
``min_pose_score`` are dropped (the graph's order is kept: best first); keypoints are scaled
from the padded to the resized image, then to pixels, in the reference's order of operations.
"""
from __future__ import annotations

import numpy as np

from posenet_ros.core.pose import Pose
from posenet_ros.families.movenet.single_pose import DEFAULT_MIN_POSE_SCORE

MAX_DIMENSION = 256
MAX_POSES = 6           # the graph's candidates


def decode(output: np.ndarray, resized: tuple[int, int], padded: tuple[int, int], width: int,
           height: int, min_pose_score: float = DEFAULT_MIN_POSE_SCORE) -> list[Pose]:
    """Poses in pixels; ``resized``/``padded`` are (height, width) of the network input."""
    rows = np.asarray(output, np.float64).reshape(-1, 56)
    (rh, rw), (ph, pw) = resized, padded
    poses = []
    for row in rows:
        if not row[55] >= min_pose_score:
            continue
        kp = row[:51].reshape(17, 3)
        y = kp[:, 0] * (ph / rh) * height
        x = kp[:, 1] * (pw / rw) * width
        poses.append(Pose(float(row[55]), np.stack([x, y], axis=1), kp[:, 2].copy()))
    return poses
