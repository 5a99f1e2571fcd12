"""Root candidates for multi-pose decoding: local maxima of the part heatmaps, best first."""
from __future__ import annotations

import numpy as np

from posenet_ros.families.posenet.decode.max_heap import heap_order

LOCAL_MAXIMUM_RADIUS = 1   # tfjs kLocalMaximumRadius: a 3x3 window


def root_candidates(heatmap: np.ndarray, score_threshold: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(part ids, grid ys, grid xs, scores) of candidate roots, in the order tfjs dequeues them.

    A cell is a candidate when its score is >= the threshold and no cell of the same part in
    the 3x3 window around it scores strictly higher (ties are all kept, as in tfjs).
    """
    scores = heatmap.astype(np.float64)          # compare like JavaScript numbers do
    window_max = _window_max(scores, LOCAL_MAXIMUM_RADIUS)
    mask = (scores >= score_threshold) & (scores >= window_max)
    # tfjs enqueues in (y, x, part) loop order; that order decides ties in its max-heap.
    ys, xs, parts = np.nonzero(mask.transpose(1, 2, 0))
    values = scores[parts, ys, xs]
    order = np.argsort(-values, kind="stable")
    if values.size > 1 and np.any(np.diff(values[order]) == 0):
        order = heap_order(values)               # equal scores: reproduce the heap's order
    return parts[order], ys[order], xs[order], values[order]


def _window_max(scores: np.ndarray, radius: int) -> np.ndarray:
    """Max over a (2r+1)^2 window per part, ignoring cells outside the grid."""
    _, h, w = scores.shape
    padded = np.pad(scores, ((0, 0), (radius, radius), (radius, radius)), constant_values=-np.inf)
    rows = padded[:, 0:h, :].copy()
    for dy in range(1, 2 * radius + 1):
        np.maximum(rows, padded[:, dy:dy + h, :], out=rows)
    out = rows[:, :, 0:w].copy()
    for dx in range(1, 2 * radius + 1):
        np.maximum(out, rows[:, :, dx:dx + w], out=out)
    return out
