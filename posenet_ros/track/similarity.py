"""How alike a detected pose is to a track: OKS on keypoints, IoU on boxes, both vectorised.

OKS is COCO's object keypoint similarity (cocodataset.org/#keypoints-eval) in the form
pose-detection's KeypointTracker uses: the mean over keypoints confident in both poses of
``exp(-d^2 / (2 * area * (2 * sigma)^2))``, ``area`` being the track's keypoint box area. It is
scale-free (pixels cancel), so near and far people are judged alike.
"""
from __future__ import annotations

import numpy as np

# COCO keypoint sigmas (pose-detection movenet/constants.ts keypointFalloff), PoseNet order.
COCO_SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
                        0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089])
_FALLOFF = (2 * COCO_SIGMAS) ** 2


def keypoint_boxes(positions: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Boxes (x_min, y_min, x_max, y_max) of the valid keypoints of each pose, (N, 4).

    ``positions`` (N, 17, 2), ``valid`` (N, 17) bool. A pose without a valid keypoint gets the
    box of all its finite keypoints, and NaN when it has none.
    """
    n = positions.shape[0]
    if n == 0:
        return np.zeros((0, 4))
    finite = np.isfinite(positions).all(axis=2)
    use = valid & finite
    use = np.where(use.any(axis=1, keepdims=True), use, finite)
    with np.errstate(invalid="ignore"):
        low = np.where(use[..., None], positions, np.inf).min(axis=1)
        high = np.where(use[..., None], positions, -np.inf).max(axis=1)
    boxes = np.concatenate([low, high], axis=1)
    boxes[~use.any(axis=1)] = np.nan
    return boxes


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    with np.errstate(invalid="ignore"):
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
        area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        union = area_a[:, None] + area_b[None, :] - inter
        iou = inter / np.where(union > 0, union, 1.0)
    return np.where((union > 0) & np.isfinite(iou), iou, 0.0)   # a NaN box matches nothing


def oks(det_positions: np.ndarray, det_valid: np.ndarray, trk_positions: np.ndarray,
        trk_valid: np.ndarray, trk_areas: np.ndarray, min_keypoints: int) -> np.ndarray:
    """OKS of each detection (N, 17, 2) with each track (M, 17, 2), shape (N, M).

    Only keypoints valid in both count; a pair sharing fewer than ``min_keypoints`` of them
    scores 0 (pose-detection's rule). ``trk_areas`` (M,) are the tracks' box areas in px^2.
    """
    if len(det_positions) == 0 or len(trk_positions) == 0:
        return np.zeros((len(det_positions), len(trk_positions)))
    both = det_valid[:, None, :] & trk_valid[None, :, :]
    d2 = ((det_positions[:, None] - trk_positions[None, :]) ** 2).sum(axis=3)
    # Invalid keypoints may be NaN; they are masked out below, as are NaN areas.
    scale = 2 * (np.where(np.isfinite(trk_areas), trk_areas, 0.0) + 1e-6)
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.where(both, np.exp(-d2 / (scale[None, :, None] * _FALLOFF)), 0.0)
    count = both.sum(axis=2)
    return np.where(count >= min_keypoints, terms.sum(axis=2) / np.maximum(count, 1), 0.0)
