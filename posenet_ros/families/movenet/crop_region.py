"""pose-detection 2.1.3's single-pose crop region (``movenet/crop_utils.ts``), line by line.

Coordinates are normalised to the image (y by height, x by width); the region may extend past
the image (then cropAndResize fills zeros). Python floats are JavaScript's doubles, and the
operations keep pose-detection's order, so regions match the reference bit for bit.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posenet_ros.core.keypoints import PART_IDS
from posenet_ros.filters.low_pass import LowPassFilter

MIN_CROP_KEYPOINT_SCORE = 0.2
CROP_FILTER_ALPHA = 0.9
_TORSO = ("leftShoulder", "rightShoulder", "leftHip", "rightHip")


@dataclass(frozen=True)
class CropRegion:
    y_min: float
    x_min: float
    y_max: float
    x_max: float
    height: float
    width: float

    def box(self) -> tuple[float, float, float, float]:
        """(yMin, xMin, yMax, xMax), the order of tf.image.cropAndResize's boxes."""
        return self.y_min, self.x_min, self.y_max, self.x_max


def init_crop_region(first_frame: bool, width: int, height: int) -> CropRegion:
    """First frame: the centred square; later (torso lost): the whole image padded square."""
    centred = (1.0, height / width, 0.0, (width / 2 - height / 2) / width)      # h, w, y, x
    padded = (width / height, 1.0, (height / 2 - width / 2) / height, 0.0)
    landscape = width > height
    box_h, box_w, y_min, x_min = centred if landscape == first_frame else padded
    return CropRegion(y_min, x_min, y_min + box_h, x_min + box_w, box_h, box_w)


def torso_visible(scores: Sequence[float]) -> bool:
    """Whether a hip and a shoulder both score above the crop threshold."""
    s = [scores[PART_IDS[name]] for name in _TORSO]
    return (s[2] > MIN_CROP_KEYPOINT_SCORE or s[3] > MIN_CROP_KEYPOINT_SCORE) and \
        (s[0] > MIN_CROP_KEYPOINT_SCORE or s[1] > MIN_CROP_KEYPOINT_SCORE)


def next_crop_region(current: CropRegion | None, yx: np.ndarray, scores: np.ndarray,
                     width: int, height: int) -> CropRegion:
    """``determineNextCropRegion``: a square around the hips sized by the body's extent.

    ``yx`` is (17, 2) normalised (y, x) of the (smoothed) keypoints.
    """
    values = scores.tolist()
    if not torso_visible(values):
        return init_crop_region(current is None, width, height)
    target = [(y * height, x * width) for y, x in yx.tolist()]
    lh, rh = target[PART_IDS["leftHip"]], target[PART_IDS["rightHip"]]
    cy, cx = (lh[0] + rh[0]) / 2, (lh[1] + rh[1]) / 2
    torso_y = torso_x = body_y = body_x = 0.0
    for name in _TORSO:
        dy, dx = abs(cy - target[PART_IDS[name]][0]), abs(cx - target[PART_IDS[name]][1])
        torso_y, torso_x = max(torso_y, dy), max(torso_x, dx)
    for k, (ty, tx) in enumerate(target):
        if values[k] < MIN_CROP_KEYPOINT_SCORE:
            continue
        body_y, body_x = max(body_y, abs(cy - ty)), max(body_x, abs(cx - tx))
    half = max(torso_x * 1.9, torso_y * 1.9, body_y * 1.2, body_x * 1.2)
    half = min(half, max(cx, width - cx, cy, height - cy))
    corner_y, corner_x = cy - half, cx - half
    if half > max(width, height) / 2:
        return init_crop_region(current is None, width, height)
    length = half * 2
    y_min, x_min = corner_y / height, corner_x / width
    y_max, x_max = (corner_y + length) / height, (corner_x + length) / width
    return CropRegion(y_min, x_min, y_max, x_max, y_max - y_min, x_max - x_min)


class CropRegionFilter:
    """The detector's four low-pass filters (alpha 0.9) over yMin, xMin, yMax, xMax."""

    def __init__(self) -> None:
        self._filters = [LowPassFilter(CROP_FILTER_ALPHA) for _ in range(4)]

    def apply(self, region: CropRegion) -> CropRegion:
        y_min, x_min, y_max, x_max = (f.apply(v) for f, v in zip(self._filters, region.box()))
        return CropRegion(y_min, x_min, y_max, x_max, y_max - y_min, x_max - x_min)

    def reset(self) -> None:
        for f in self._filters:
            f.reset()
