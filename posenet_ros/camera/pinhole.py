"""Intrinsics guessed from the image size, for cameras published without a calibration.

Both the camera node (rclpy CameraInfo) and ``posenet-ros bag-from-video`` (rosbags
CameraInfo) fill their messages from this one guess, so live and recorded sources agree.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_HFOV_DEG = 60.0  # a typical webcam lens


def guess_pinhole(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Return K (3x3) and P (3x4) of an undistorted pinhole with square pixels.

    The principal point is the image centre in the pixel-centre convention.
    """
    focal = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    k = np.array([[focal, 0.0, (width - 1) / 2.0], [0.0, focal, (height - 1) / 2.0],
                  [0.0, 0.0, 1.0]])
    return k, np.hstack([k, np.zeros((3, 1))])
