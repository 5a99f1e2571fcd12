"""Constant-velocity prediction of tracks' keypoints between frames.

A person is moved as a whole: one image velocity per track (pixels per second), measured
from the keypoints seen in two matched frames and smoothed. It helps where people cross or
a frame is dropped: the track is compared with where the person should be now, not where
they were, so two crossing people keep their own tracks. Prediction is capped at the
tracker's ``max_age`` seconds (the caller clips ``dt``): beyond it a straight line is a
guess, and the track dies anyway.
"""
from __future__ import annotations

import numpy as np

# Weight of a new velocity measurement (exponential smoothing). 0.5 follows a change of
# pace within two frames yet halves the jitter of single-frame measurements.
VELOCITY_GAIN = 0.5
_BOX_AXES = [0, 1, 0, 1]   # a box (x0, y0, x1, y1) moves by (dx, dy) at both corners


def predict(planes: np.ndarray, boxes: np.ndarray, velocity: np.ndarray,
            dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return keypoint planes (M, 2, 17) and boxes (M, 4) moved by ``velocity`` (M, 2).

    ``dt`` (M,) is the seconds to move each track by.
    """
    step = dt[:, None] * velocity
    return planes + step[:, :, None], boxes + step[:, _BOX_AXES]


def update_velocity(velocity: np.ndarray, known: np.ndarray, old_planes: np.ndarray,
                    old_valid: np.ndarray, new_planes: np.ndarray, new_valid: np.ndarray,
                    dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed velocities (M, 2) of M tracks after a frame, and which were measured (M,).

    The measurement is the mean displacement per second of the keypoints valid in both
    frames (planes (M, 2, 17)). A track's first measurement is taken as it is, later ones
    are blended in with :data:`VELOCITY_GAIN`; where nothing is measured (no keypoint shared,
    ``dt`` not positive) the old velocity stays.
    """
    both = old_valid & new_valid
    count = both.sum(axis=1)
    measured = (count > 0) & (dt > 0)
    with np.errstate(all="ignore"):   # encoded planes: +inf - -inf = inf where masked out
        moved = np.where(both[:, None, :], new_planes - old_planes, 0.0).sum(axis=2)
    observed = moved / np.where(measured, count * dt, 1.0)[:, None]
    gain = np.where(measured, np.where(known, VELOCITY_GAIN, 1.0), 0.0)[:, None]
    return velocity + gain * (observed - velocity), measured


def out_of_view(boxes: np.ndarray, shape: tuple) -> np.ndarray:
    """Tracks whose predicted box centre (boxes (M, 4)) is outside an image of ``shape``.

    A person who walked out is gone from view: whoever enters at that side next is someone
    to tell apart by looks (re-identification), not by a path that continues outside.
    """
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    with np.errstate(invalid="ignore"):
        return ((centre[:, 0] < 0) | (centre[:, 0] > shape[1])
                | (centre[:, 1] < 0) | (centre[:, 1] > shape[0]))
