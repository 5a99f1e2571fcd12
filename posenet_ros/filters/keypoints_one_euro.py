"""Keypoint smoothing: pose-detection 2.1.3 ``keypoints_one_euro_filter.ts``.

One One Euro filter per keypoint and axis (x, y, and z when given). Speeds are divided by
the object's scale so that a near and a far person are smoothed alike, unless
``disable_value_scaling`` (MoveNet's choice: it filters normalised coordinates with scale 1).
"""
from __future__ import annotations

import numpy as np

from posenet_ros.filters.one_euro import OneEuroFilterConfig
from posenet_ros.filters.one_euro_array import OneEuroArray


def object_scale(positions: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Mean of the width and height of the keypoints' bounding box (MediaPipe's object scale).

    ``valid`` selects the keypoints to use; 0.0 when none is valid or finite.
    """
    points = np.asarray(positions, dtype=np.float64)[:, :2]
    keep = np.isfinite(points).all(axis=1)
    if valid is not None:
        keep &= np.asarray(valid, dtype=bool)
    if not keep.any():
        return 0.0
    chosen = points[keep]
    width, height = chosen.max(axis=0) - chosen.min(axis=0)
    return float((width + height) / 2)


class KeypointsOneEuroFilter:
    """Smooth a person's keypoints over time (``KeypointsOneEuroFilter`` of pose-detection)."""

    def __init__(self, config: OneEuroFilterConfig) -> None:
        self.config = config
        self._filters: OneEuroArray | None = None

    def apply(self, keypoints: np.ndarray | None, micro_seconds: float,
              object_scale: float = 1.0) -> np.ndarray | None:
        """Return the smoothed copy of ``keypoints`` ((N, 2) or (N, 3)); None resets.

        As in TF.js: the filters are (re)made when the number of keypoints changes; with value
        scaling on, an ``object_scale`` below ``min_allowed_object_scale`` returns the keypoints
        unfiltered and speeds are otherwise multiplied by ``1 / object_scale``. Unlike TF.js, a
        scale <= 0 (or NaN) also returns them unfiltered instead of dividing by zero.
        """
        if keypoints is None:
            self.reset()
            return None
        points = np.asarray(keypoints, dtype=np.float64)
        if self._filters is None or self._filters.shape != points.shape:
            self._filters = OneEuroArray(self.config, points.shape)
        value_scale = 1.0
        if not self.config.disable_value_scaling:
            minimum = self.config.min_allowed_object_scale
            if minimum is not None and object_scale < minimum:
                return points.copy()
            if not object_scale > 0:   # TF.js divides by it (Infinity, NaN): pass through
                return points.copy()
            value_scale = 1.0 / object_scale
        return self._filters.apply(points, micro_seconds, value_scale)

    def reset(self) -> None:
        """Drop the filters: the next keypoints pass through and start a new history."""
        self._filters = None
