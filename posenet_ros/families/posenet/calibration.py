"""PoseNet's int8 calibration inputs: real frames padded and resized as tfjs does."""
from __future__ import annotations

import numpy as np

from posenet_ros.families.posenet.preprocess import letterbox, Preprocessor


def posenet_feeds(frames: list[np.ndarray],
                  resolution: int) -> list[np.ndarray]:
    """Return PoseNet's network inputs for RGB frames (tfjs pad and resize, [1, 3, r, r])."""
    prep = Preprocessor()
    feeds = []
    for frame in frames:
        box = letterbox(frame.shape[1], frame.shape[0], resolution, resolution)
        feeds.append(prep(frame, box).copy()[None])
    return feeds
