"""A cheap appearance cue for re-identification: colour histograms of torso and legs.

Clothes are what tells two people apart once their path is lost (a person re-entering the
image, or coming out after a long occlusion). Each pose gets one hue x saturation histogram
(8 x 4 bins) of its torso (shoulders to hips) and one of its legs (hips to the bottom of the
keypoint box), over the middle 60% of the box's width, each sampled on a fixed 12 x 12 grid:
the cost is fixed per person whatever their size. Two looks compare by the Bhattacharyya
coefficient (1 for the same colours), averaged over the regions both have.

More regions (horizontal stripes) and a brightness axis separate the sample people better
but turn down more true matches between frames; on the TUNE scenes they did not beat this
cue (docs/tracking-eval.md).
"""
from __future__ import annotations

import cv2
import numpy as np

HUE_BINS, SAT_BINS = 8, 4
BINS = HUE_BINS * SAT_BINS
REGIONS = 2                    # torso, legs
COLUMNS, ROWS = 12, 12         # sampling grid of a region: 144 pixels
# Keypoint ids (PoseNet order): shoulders 5, 6; hips 11, 12.
_TORSO = np.array([5, 6, 11, 12])
_INSET = 0.2                  # fraction of the box's width dropped at each side (background)
# Each HSV channel's share of a pixel's bin, (1, 256, 3) for ``cv2.LUT``: hue (OpenCV's
# 0-179) to ``hue_bin * SAT_BINS``, saturation to its bin, value to nothing; they sum to it.
_levels = np.arange(256)
_BIN_PARTS = np.stack([np.minimum(_levels, 179) * HUE_BINS // 180 * SAT_BINS,
                       _levels * SAT_BINS // 256, np.zeros(256, dtype=int)],
                      axis=1)[None].astype(np.uint8)
# Where the samples of a region lie, as fractions of its box width and of its height.
_COLUMN_AT = _INSET + (1 - 2 * _INSET) * (np.arange(COLUMNS) + 0.5) / COLUMNS
_ROW_AT = (np.arange(ROWS) + 0.5) / ROWS
# Each sample's histogram offset, for up to _OFFSETS_FOR people (more are computed).
_OFFSETS_FOR = 32
_REGION_OFFSETS = np.repeat(np.arange(_OFFSETS_FOR * REGIONS) * BINS, ROWS * COLUMNS)


def describe(image: np.ndarray, planes: np.ndarray, valid: np.ndarray,
             boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return looks (N, REGIONS, BINS), L1-normalised, and which regions were seen (N, REGIONS).

    ``image`` HxWx3 RGB uint8; ``planes`` (N, 2, 17) keypoints x, y; ``valid`` (N, 17);
    ``boxes`` (N, 4) keypoint boxes. All people's samples are gathered in one ``take``, binned
    through one table and counted in one ``bincount``.
    """
    n = len(planes)
    x0, top, split, bottom, x1 = _rows(planes, valid, boxes)
    with np.errstate(invalid="ignore"):                         # NaN boxes: not seen
        edges = np.stack([top, split, bottom], axis=1)          # (N, REGIONS + 1)
        tall = np.diff(edges, axis=1)                           # (N, REGIONS)
        seen = (tall >= 1) & ((x1 - x0) >= 3)[:, None]
    if not seen.any():
        return np.zeros((n, REGIONS, BINS), dtype=np.float32), seen
    height, width = image.shape[:2]
    # fmax and fmin take the number over a NaN: unseen regions sample pixel 0, counted nowhere.
    gx = x0[:, None] + (x1 - x0)[:, None] * _COLUMN_AT
    gy = edges[:, :-1, None] + tall[:, :, None] * _ROW_AT
    gx = np.fmin(np.fmax(gx, 0), width - 1).astype(np.intp)
    gy = np.fmin(np.fmax(gy, 0), height - 1).astype(np.intp) * width
    flat = gy[:, :, :, None] + gx[:, None, None, :]             # (N, REGIONS, ROWS, COLUMNS)
    pixels = image.reshape(-1, 3).take(flat.ravel(), axis=0)
    parts = cv2.LUT(cv2.cvtColor(pixels[None], cv2.COLOR_RGB2HSV), _BIN_PARTS)[0]
    offsets = _REGION_OFFSETS[:n * REGIONS * ROWS * COLUMNS] if n <= _OFFSETS_FOR else np.repeat(
        np.arange(n * REGIONS) * BINS, ROWS * COLUMNS)
    bins = offsets + (parts[:, 0] + parts[:, 1])                # uint8: the bin, < BINS
    looks = np.bincount(bins, minlength=n * REGIONS * BINS).astype(np.float32)
    looks = looks.reshape(n, REGIONS, BINS)
    looks[~seen] = 0.0
    return looks / np.maximum(looks.sum(axis=2, keepdims=True), 1.0), seen


def _rows(planes: np.ndarray, valid: np.ndarray, boxes: np.ndarray) -> tuple:
    """Return x0, torso top, torso/legs split, legs bottom and x1 of each pose, (N,) each.

    The torso runs from the shoulders to the hips, the legs from the hips to the box's
    bottom; unseen shoulders or hips fall back to a fifth and a half of the box's height.
    """
    ys = np.where(valid[:, _TORSO], planes[:, 1, _TORSO], np.nan)   # shoulders, hips
    top, split = np.fmin(ys[:, 0], ys[:, 1]), np.fmax(ys[:, 2], ys[:, 3])   # NaN: unseen
    span = boxes[:, 3] - boxes[:, 1]
    top = np.where(np.isnan(top), boxes[:, 1] + 0.2 * span, top)
    split = np.where(np.isnan(split), boxes[:, 1] + 0.5 * span, split)
    return boxes[:, 0], top, split, boxes[:, 3], boxes[:, 2]


def similarity(a: np.ndarray, a_seen: np.ndarray, b: np.ndarray,
               b_seen: np.ndarray) -> np.ndarray:
    """Bhattacharyya coefficient of looks ``a`` (N, R, BINS) with ``b`` (M, R, BINS), (N, M).

    Averaged over the regions seen in both; 0 for pairs sharing none.
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    # With unseen regions zeroed, one matrix product sums the coefficients of shared regions.
    root_a = (np.sqrt(a) * a_seen[:, :, None]).reshape(len(a), -1)
    root_b = (np.sqrt(b) * b_seen[:, :, None]).reshape(len(b), -1)
    count = a_seen.astype(np.float32) @ b_seen.T.astype(np.float32)
    return np.where(count > 0, (root_a @ root_b.T) / np.maximum(count, 1), 0.0)
