"""A cheap appearance cue for re-identification: colour histograms of torso and legs.

Clothes are what tells two people apart once their path is lost (a person re-entering the
image, or coming out after a long occlusion). Each pose gets two hue-saturation histograms
(8 hue x 4 saturation bins), of the torso (shoulders to hips) and of the legs (hips to the
bottom of the keypoint box), the middle 60% of the box's width, each sampled on a grid of
:data:`SAMPLES` x :data:`SAMPLES` pixels: the cost is fixed per person whatever their
size in the image. Two looks compare by the Bhattacharyya coefficient (1 for the same colours),
averaged over the regions both have.
"""
from __future__ import annotations

import cv2
import numpy as np

HUE_BINS, SAT_BINS = 8, 4
BINS = HUE_BINS * SAT_BINS
SAMPLES = 12                  # grid side: at most 12 x 12 pixels a region
_HUE_LUT = (np.arange(180) * HUE_BINS // 180 * SAT_BINS).astype(np.uint8)
_SAT_SHIFT = 6                # 256 saturation levels >> 6: 4 bins
# Keypoint ids (PoseNet order): shoulders 5, 6; hips 11, 12.
_SHOULDERS, _HIPS = [5, 6], [11, 12]
_INSET = 0.2                  # fraction of the box's width dropped at each side (background)


def describe(image: np.ndarray, planes: np.ndarray, valid: np.ndarray,
             boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return looks (N, 2, BINS), L1-normalised, and which regions were seen (N, 2).

    ``image`` HxWx3 RGB uint8; ``planes`` (N, 2, 17) keypoints x, y; ``valid`` (N, 17);
    ``boxes`` (N, 4) keypoint boxes. All people's samples are gathered in one indexing, one
    colour conversion and one ``bincount``.
    """
    n = len(planes)
    x0, top, split, bottom, x1 = _rows(planes, valid, boxes)
    # Region r of person i: rows top..split (torso) or split..bottom (legs).
    y0 = np.stack([top, split], axis=1)
    y1 = np.stack([split, bottom], axis=1)
    seen = np.isfinite(y0 + y1) & ((y1 - y0) >= 2) & np.isfinite(x0 + x1)[:, None] & (
        (x1 - x0) >= 3)[:, None]
    if not seen.any():
        return np.zeros((n, 2, BINS), dtype=np.float32), seen
    height, width = image.shape[:2]
    grid = (np.arange(SAMPLES) + 0.5) / SAMPLES
    owner = np.flatnonzero(seen.ravel())                     # region index 2 * i + r
    person = owner // 2
    left, span = x0[person], x1[person] - x0[person]
    gx = np.clip((left + _INSET * span)[:, None] + grid * ((1 - 2 * _INSET) * span)[:, None],
                 0, width - 1).astype(np.intp)
    top, rows = y0.ravel()[owner], (y1 - y0).ravel()[owner]
    gy = np.clip(top[:, None] + grid * rows[:, None], 0, height - 1).astype(np.intp)
    flat = (gy * width)[:, :, None] + gx[:, None, :]
    pixels = image.reshape(-1, 3)[flat.ravel()].reshape(1, -1, 3)
    hsv = cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV)[0]
    bins = _HUE_LUT[hsv[:, 0]] + (hsv[:, 1] >> _SAT_SHIFT)
    slot = np.repeat(owner * BINS, SAMPLES * SAMPLES)
    counts = np.bincount(slot + bins, minlength=2 * n * BINS).astype(np.float32)
    looks = counts.reshape(n, 2, BINS)
    return looks / np.maximum(looks.sum(axis=2, keepdims=True), 1.0), seen


def _rows(planes: np.ndarray, valid: np.ndarray, boxes: np.ndarray) -> tuple:
    """Return x0, torso top, torso/legs split, legs bottom and x1 of each pose, (N,) each.

    The torso runs from the shoulders to the hips, the legs from the hips to the box's
    bottom; unseen shoulders or hips fall back to a fifth and a half of the box's height.
    """
    span = boxes[:, 3] - boxes[:, 1]
    ys = planes[:, 1]
    shoulders = valid[:, _SHOULDERS].any(axis=1)
    hips = valid[:, _HIPS].any(axis=1)
    with np.errstate(invalid="ignore"):
        top = np.where(shoulders, np.where(valid[:, _SHOULDERS], ys[:, _SHOULDERS], np.inf)
                       .min(axis=1), boxes[:, 1] + 0.2 * span)
        split = np.where(hips, np.where(valid[:, _HIPS], ys[:, _HIPS], -np.inf).max(axis=1),
                         boxes[:, 1] + 0.5 * span)
    return boxes[:, 0], top, split, boxes[:, 3], boxes[:, 2]


def similarity(a: np.ndarray, a_seen: np.ndarray, b: np.ndarray,
               b_seen: np.ndarray) -> np.ndarray:
    """Bhattacharyya coefficient of looks ``a`` (N, 2, BINS) with ``b`` (M, 2, BINS), (N, M).

    Averaged over the regions seen in both; 0 for pairs sharing none.
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    coeff = np.einsum("nrk,mrk->nmr", np.sqrt(a), np.sqrt(b))
    both = a_seen[:, None, :] & b_seen[None, :, :]
    count = both.sum(axis=2)
    return np.where(count > 0, (coeff * both).sum(axis=2) / np.maximum(count, 1), 0.0)
