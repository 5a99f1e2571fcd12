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
_EXP_FLOOR = -50.0


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
    det = encode_planes(det_positions.transpose(0, 2, 1), det_valid, np.inf)
    trk = encode_planes(trk_positions.transpose(0, 2, 1), trk_valid, -np.inf)
    return oks_and_counts(det, det_valid, trk, trk_valid, trk_areas, min_keypoints)[0]


def encode_planes(planes: np.ndarray, valid: np.ndarray, fill: float) -> np.ndarray:
    """Keypoint planes (N, 2, 17) with the invalid keypoints replaced by ``fill`` (+-inf)."""
    return np.where(valid[:, None, :], planes, fill)


def oks_and_counts(det_planes: np.ndarray, det_valid: np.ndarray, trk_planes: np.ndarray,
                   trk_valid: np.ndarray, trk_areas: np.ndarray,
                   min_keypoints: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`oks` and the number of keypoints each pair shares, both (N, M).

    Keypoints come as planes, (N, 2, 17): x then y, each contiguous, invalid ones +inf for
    detections and -inf for tracks (:func:`encode_planes`). Every difference that involves
    an invalid keypoint is then +inf, its term exp(-inf) = 0, with no mask to apply; the
    shared counts are one matrix product. One broadcast covers all (detection, track,
    keypoint) triples, so a frame of 10 people costs about a dozen array operations whatever
    the number of pairs, and ``dx * dx + dy * dy`` on whole planes is five times cheaper
    than summing a trailing axis of length 2.
    """
    if len(det_planes) == 0 or len(trk_planes) == 0:
        empty = np.zeros((len(det_planes), len(trk_planes)))
        return empty, empty
    area = np.where(np.isfinite(trk_areas), trk_areas, 0.0)
    spread = -(2 * (area + 1e-6))[:, None] * _FALLOFF
    with np.errstate(all="ignore"):     # huge coordinates overflow to inf: term 0
        dx = det_planes[:, None, 0] - trk_planes[None, :, 0]
        dy = det_planes[:, None, 1] - trk_planes[None, :, 1]
        exponent = (dx * dx + dy * dy) / spread
        # Far pairs' exponents are hundreds below 0; exp's results there are subnormal or
        # zero, which CPUs compute up to ~70x slower. e^-50 (2e-22) already counts as 0.
        terms = np.exp(np.maximum(exponent, _EXP_FLOOR, out=exponent), out=exponent)
    count = det_valid.astype(np.float64) @ trk_valid.T.astype(np.float64)
    total = terms.sum(axis=2) / np.maximum(count, 1.0)
    return np.where(count >= min_keypoints, total, 0.0), count


def plane_boxes(low_planes: np.ndarray, high_planes: np.ndarray,
                valid: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """Return :func:`keypoint_boxes` from encoded planes (N, 2, 17): invalid +inf, and -inf.

    Reductions run along the contiguous keypoint axis; only poses without a valid keypoint
    take :func:`keypoint_boxes`' fallback, on the raw ``planes``.
    """
    low = low_planes.min(axis=2)
    boxes = np.concatenate([low, high_planes.max(axis=2)], axis=1)
    empty = np.isinf(low[:, 0])
    if empty.any():
        boxes[empty] = keypoint_boxes(planes[empty].transpose(0, 2, 1), valid[empty])
    return boxes


def box_sizes(boxes: np.ndarray) -> np.ndarray:
    """Return people's sizes in pixels: the longer side of each box (N, 4), at least 1 px.

    The longer side is the body height for a standing person and stays the body length for
    one lying down or stretching, where the other side shrinks; NaN boxes give NaN.
    """
    return np.maximum(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]), 1.0)


def centre_distance(a: np.ndarray, b: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Distance of every box centre of ``a`` (N, 4) to every one of ``b`` (M, 4), (N, M).

    In units of ``sizes`` (M,): the people's sizes of ``b``, so one threshold holds for a
    person near the camera and one far away. NaN boxes are infinitely far.
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ca, cb = (a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
    diff = ca[:, None] - cb[None]
    dist = np.sqrt((diff * diff).sum(axis=2)) / sizes[None, :]
    return np.where(np.isnan(dist), np.inf, dist)
