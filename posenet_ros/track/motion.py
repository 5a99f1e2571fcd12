"""Constant-velocity prediction of tracks' keypoints between frames.

A person is moved as a whole: one image velocity per track (pixels per second), measured
from the keypoints seen in two matched frames and smoothed. It helps where people cross or
a frame is dropped: the track is compared with where the person should be now, not where
they were, so two crossing people keep their own tracks. Prediction is capped at
``horizon`` seconds: beyond it a straight line is a guess, and the track dies anyway.
"""
from __future__ import annotations

import numpy as np

# Weight of a new velocity measurement (exponential smoothing). 0.5 follows a change of
# pace within two frames yet halves the jitter of single-frame measurements.
VELOCITY_GAIN = 0.5


def predict(positions: np.ndarray, velocity: np.ndarray, dt: np.ndarray,
            horizon: float) -> np.ndarray:
    """Positions (M, 17, 2) moved by ``velocity`` (M, 2) over ``dt`` (M,) seconds."""
    step = np.clip(dt, 0.0, horizon)[:, None] * velocity
    return positions + step[:, None, :]


def measure_velocity(old_positions: np.ndarray, old_valid: np.ndarray,
                     new_positions: np.ndarray, new_valid: np.ndarray,
                     dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean displacement per second of the keypoints valid in both frames, for M tracks.

    Returns (velocity (M, 2), measured (M,) bool): False where no keypoint is shared or
    ``dt`` is not positive (the velocity there is 0 and meaningless).
    """
    both = old_valid & new_valid
    count = both.sum(axis=1)
    measured = (count > 0) & (dt > 0)
    with np.errstate(invalid="ignore"):
        moved = np.where(both[..., None], new_positions - old_positions, 0.0).sum(axis=1)
    span = np.where(measured, count * dt, 1.0)
    return np.where(measured[:, None], moved / span[:, None], 0.0), measured


def blend_velocity(velocity: np.ndarray, measured: np.ndarray,
                   known: np.ndarray) -> np.ndarray:
    """Smoothed velocities after a measurement (a first one is taken as it is)."""
    return np.where(known[:, None], velocity + VELOCITY_GAIN * (measured - velocity), measured)
