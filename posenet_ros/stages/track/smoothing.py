"""Per-track keypoint smoothing: One Euro filters for all tracks in one array.

Each track slot owns a row of filters (2 axes x 17 keypoints: the tracker's keypoint planes),
driven by the frames' stamps.
Speeds are divided by the person's scale (mean of keypoint box width and height, MediaPipe's
object scale) so ``beta`` means the same for a near and a far person. A keypoint below the
score threshold, or NaN, is not fed to its filter: its output is the raw detection and its
filter keeps its memory, so a bad keypoint never drags the smoothed one. On a frame whose
stamp equals the previous one nothing is fed (TF.js ignores such samples) and the last
smoothed positions are returned.

The step is :class:`~posenet_ros.filters.one_euro_array.OneEuroArray`'s arithmetic, operation
for operation (so equal to pose-detection's scalar ``OneEuroFilter`` per element; tested to
be identical), laid out for a tracker: the six state planes of a frame's tracks are
contiguous after one gather
(``(6, capacity, 2, 17)``), so one gather and one scatter move a frame's tracks, and the
stamp guard needs no floating-point error state. That takes a 10-person step from about
0.1 ms to a third of it; ``filters/`` stays the reference port MoveNet uses.
"""
from __future__ import annotations

import math

import numpy as np

from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.filters.one_euro import (MICRO_SECONDS_TO_SECOND, OneEuroFilterConfig,
                                          SECOND_TO_MICRO_SECONDS)

# State planes of a slot: last stamp (integral microseconds; 0 = never fed, since a sample
# is fed only when its stamp is after the last one, and the first must be after 0), last raw
# value, stored value, stored speed. OneEuroArray's frequency plane is not kept: a fed filter
# re-estimates it from the stamps on every sample, so a stored one is never read again.
_STAMP, _RAW, _STORED, _SPEED = range(4)
_TWO_PI = 2 * math.pi


class TrackSmoother:
    """The keypoint filters of up to ``capacity`` tracks, one row per track slot."""

    def __init__(self, config: OneEuroFilterConfig, capacity: int) -> None:
        if config.threshold_cutoff is not None:
            raise ValueError("TrackSmoother has no outlier threshold (threshold_cutoff)")
        self.config = config
        # Plane-major: gathering the rows of a frame's tracks gives contiguous planes.
        self._state = np.zeros((4, capacity, 2, NUM_KEYPOINTS))
        # The port divides by 2 pi d_cutoff (no reciprocal taken): kept for equal results.
        self._two_pi_d_cutoff = _TWO_PI * config.derivate_cutoff

    def start(self, slots: np.ndarray | None = None) -> None:
        """Forget the history of ``slots`` (all when None): new tracks there."""
        self._state[:, slice(None) if slots is None else slots] = 0.0

    def apply(self, slots: np.ndarray, positions: np.ndarray, valid: np.ndarray,
              scales: np.ndarray, stamp_seconds: float, same_stamp: bool) -> np.ndarray:
        """Smoothed keypoints of the tracks ``slots`` given raw ones, both (n, 2, 17) planes.

        ``valid`` (n, 17) says which keypoints feed their filters (the others pass through
        raw); ``scales`` (n,) are the people's sizes in pixels (a track of size <= 0, or NaN,
        is not smoothed).
        """
        state = self._state[:, slots]          # a copy: updated in place, then stored
        last, raw, stored, d_stored = state
        if same_stamp:
            return np.where((last != 0) & valid[:, None, :], stored, positions)
        stamp = float(math.trunc(stamp_seconds * SECOND_TO_MICRO_SECONDS))
        if stamp <= 0:       # no sample is after the initial stamp 0: all pass through
            return positions.copy()
        cfg = self.config
        usable = scales > 0
        value_scale = (1.0 / np.where(usable, scales, 1.0))[:, None, None]
        fresh = (valid & usable[:, None])[:, None, :] & (last < stamp)
        # Elements of other values (non-fresh, NaN, inf) compute garbage that is discarded.
        with np.errstate(all="ignore"):
            frequency = 1 / ((stamp - last) * MICRO_SECONDS_TO_SECOND)
            # A filter's first sample: with raw = stored = the value and speed 0 (start()),
            # the expressions below give the port's first-sample result (speed 0, value out)
            # exactly, without a branch.
            seen = last != 0
            raw = np.where(seen, raw, positions)
            stored = np.where(seen, stored, positions)
            d_value = (positions - raw) * value_scale * frequency
            d_alpha = 1.0 / (1.0 + (frequency / self._two_pi_d_cutoff))
            ed_value = d_stored + d_alpha * (d_value - d_stored)
            cutoff = cfg.min_cutoff + cfg.beta * np.abs(ed_value)
            alpha = 1.0 / (1.0 + (frequency / (_TWO_PI * cutoff)))
            out = np.where(fresh, stored + alpha * (positions - stored), positions)
        for plane, value in zip(state, (stamp, positions, out, ed_value)):
            np.copyto(plane, value, where=fresh)
        self._state[:, slots] = state
        return out
