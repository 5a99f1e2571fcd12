"""Per-track keypoint smoothing: One Euro filters for all tracks in one array.

Each track owns a row of a :class:`OneEuroArray` (17 keypoints x 2 axes), driven by the
frames' stamps. Speeds are divided by the person's scale (mean of keypoint box width and
height, MediaPipe's object scale) so ``beta`` means the same for a near and a far person.
A keypoint below the score threshold, or NaN, is not fed to its filter: its output is the
raw detection and its filter keeps its memory, so a bad keypoint never drags the smoothed
one. On a frame whose stamp equals the previous one nothing is fed (TF.js ignores such
samples) and the last smoothed positions are returned.
"""
from __future__ import annotations

import numpy as np

from posenet_ros.filters.one_euro import OneEuroFilterConfig, SECOND_TO_MICRO_SECONDS
from posenet_ros.filters.one_euro_array import OneEuroArray
from posenet_ros.keypoints import NUM_KEYPOINTS


class TrackSmoother:
    """The keypoint filters of up to ``capacity`` tracks, one row per track slot."""

    def __init__(self, config: OneEuroFilterConfig, capacity: int) -> None:
        self._filters = OneEuroArray(config, (capacity, NUM_KEYPOINTS, 2))

    def start(self, slots: np.ndarray | None = None) -> None:
        """Forget the history of ``slots`` (all when None): new tracks there."""
        self._filters.reset(slots)

    def apply(self, slots: np.ndarray, positions: np.ndarray, valid: np.ndarray,
              scales: np.ndarray, stamp_seconds: float, same_stamp: bool) -> np.ndarray:
        """Smoothed positions (n, 17, 2) of the tracks ``slots`` given raw ``positions``.

        ``scales`` (n,) are the people's sizes in pixels; a track of size 0 is not smoothed.
        """
        if same_stamp:
            last, has_last = self._filters.last_output(slots)
            return np.where(has_last & valid[..., None], last, positions)
        usable = valid & (scales > 0)[:, None]
        value_scale = 1.0 / np.where(scales > 0, scales, 1.0)
        return self._filters.apply(positions, stamp_seconds * SECOND_TO_MICRO_SECONDS,
                                   value_scale[:, None, None], index=slots,
                                   mask=usable[..., None])
