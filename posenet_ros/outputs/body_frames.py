"""A ``body_<id>`` frame per person, as REP-155 defines it, from 3D keypoints (depth).

Origin: the mid-point of the two hips. Axes: z up toward the head (hips to shoulders), y to
the person's left (right hip to left hip, made square to z), x = y x z forward, the way the
person faces; so a person facing the camera has x pointing at it. Expressed in the frame the
keypoints are in (the image's optical frame).

When the hips are not both measured (out of the image, occluded, no depth there) there is no
frame for that image: an origin guessed from other keypoints would jump by the torso's length
as they come and go, and a consumer following ``body_<id>`` would follow the jump. The frame
then ages in tf listeners' buffers (lookups at later stamps fail, extrapolation is refused),
which says "not seen now" truthfully. Without a shoulder, z is the camera's up (-y optical).

ROS-free: :mod:`posenet_ros.ros.body_tf` publishes it.
"""
from __future__ import annotations

import numpy as np

from posenet_ros.camera.rigid import quaternion
from posenet_ros.core.keypoints import PART_IDS
from posenet_ros.core.pose import Pose

_HIPS = [PART_IDS["leftHip"], PART_IDS["rightHip"]]
_SHOULDERS = [PART_IDS["leftShoulder"], PART_IDS["rightShoulder"]]
_CAMERA_UP = np.array([0.0, -1.0, 0.0])    # optical frame: y points down
_MIN_NORM = 1e-6                          # metres: shorter axes give no orientation


def body_transform(pose: Pose) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (translation (3,), quaternion (x, y, z, w)) of the body frame, or None.

    None without both hips in 3D, or when the hips coincide or line up with the torso.
    """
    xyz = pose.keypoints_3d
    if xyz is None:
        return None
    hips = xyz[_HIPS]
    if not np.isfinite(hips).all():
        return None
    origin = hips.mean(axis=0)
    shoulders = xyz[_SHOULDERS]
    shoulders = shoulders[np.isfinite(shoulders).all(axis=1)]
    up = shoulders.mean(axis=0) - origin if len(shoulders) else _CAMERA_UP
    if np.linalg.norm(up) < _MIN_NORM:
        return None
    z = up / np.linalg.norm(up)
    left = hips[0] - hips[1]
    left = left - z * float(left @ z)
    if np.linalg.norm(left) < _MIN_NORM:
        return None
    y = left / np.linalg.norm(left)
    x = np.cross(y, z)
    return origin, quaternion(np.column_stack([x, y, z]))
