"""Single-pose decoding: per-part argmax of the heatmap, refined by that cell's offset."""
from __future__ import annotations

import numpy as np

from posenet_ros.core.pose import Pose


def decode_single_pose(heatmap: np.ndarray, offsets: np.ndarray,
                       output_stride: int) -> Pose:
    """Return the pose in network-input pixels (positions (17, 2) x/y).

    tfjs ``decodeSinglePose``: argmax over each part's grid (first maximum on ties, row-major),
    position = cell * stride + offset (in float32, as the tfjs tensors), score = mean of the
    keypoint scores.
    """
    parts, _, width = heatmap.shape
    flat = heatmap.reshape(parts, -1)
    best = flat.argmax(axis=1)
    ys, xs = np.divmod(best, width)
    ids = np.arange(parts)
    scores = flat[ids, best].astype(np.float64)
    positions = np.empty((parts, 2), np.float64)
    positions[:, 0] = np.float32(xs * output_stride) + offsets[parts + ids, ys, xs]
    positions[:, 1] = np.float32(ys * output_stride) + offsets[ids, ys, xs]
    return Pose(float(scores.sum() / parts), positions, scores)
