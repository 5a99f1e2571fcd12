"""Frames for the tracker's looks: the person of messi5.jpg pasted on a wide grey canvas."""
from __future__ import annotations

import cv2
import numpy as np
from posenet_ros.core.pose import Pose


def on_canvas(image: np.ndarray, pose: Pose, dx: float, hue: int = 0,
              invert_saturation: bool = False) -> np.ndarray:
    """Return a grey frame 900 px wider than ``image``, its person pasted ``dx`` px right.

    ``hue`` turns the person's colours (OpenCV hue steps); ``invert_saturation`` also makes
    pale colours strong and strong ones pale: other clothes. The part past the right edge is
    cut off (a person walking out).
    """
    frame = np.full((image.shape[0], image.shape[1] + 900, 3), 128, dtype=np.uint8)
    x0, x1 = int(pose.positions[:, 0].min()) - 20, int(pose.positions[:, 0].max()) + 20
    patch = image[:, max(x0, 0):x1]
    if hue:
        hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int32) + hue) % 180
        if invert_saturation:
            hsv[..., 1] = 255 - hsv[..., 1]
        patch = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    left = max(x0, 0) + int(dx)
    visible = patch[:, :max(0, min(patch.shape[1], frame.shape[1] - left))]
    frame[:, left:left + visible.shape[1]] = visible
    return frame
