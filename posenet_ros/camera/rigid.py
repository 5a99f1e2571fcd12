"""Rigid transforms (translation + unit quaternion), as TF carries them, and poses moved by one.

A :class:`Rigid` maps points of a child frame into its parent: ``p_parent = R p_child + t``,
which is what a ``geometry_msgs/Transform`` from ``header.frame_id`` to ``child_frame_id``
means. Quaternions are (x, y, z, w) like ROS's; the conversions to and from rotation matrices
live here only. :func:`interpolate` is tf2's: linear in the translation, slerp in the
rotation. ROS-free (numpy only).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from posenet_ros.core.pose import Pose

# tf2 refuses a quaternion whose squared norm is off 1 by more than this
# (TF_DENORMALIZED_QUATERNION); so do we, rather than guess what the sender meant.
QUATERNION_TOLERANCE = 1e-5


class BadTransform(ValueError):
    """A translation or rotation no frame can have; ``cause``: not finite, or not unit."""

    def __init__(self, cause: str, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause


@dataclass(frozen=True, eq=False)
class Rigid:
    """A rigid transform: ``translation`` (3,) metres, ``rotation`` (x, y, z, w) unit."""

    translation: np.ndarray
    rotation: np.ndarray

    @classmethod
    def checked(cls, translation: Sequence[float], rotation: Sequence[float]) -> Rigid:
        """Build one from sender values; raises BadTransform with the reason.

        The quaternion is renormalised only within tf2's tolerance (float32 rounding);
        beyond it (zero, NaN, a typo) it is refused.
        """
        t = np.asarray(translation, dtype=np.float64).reshape(3)
        q = np.asarray(rotation, dtype=np.float64).reshape(4)
        if not np.isfinite(t).all():
            raise BadTransform("not finite", f"translation {t.tolist()} is not finite")
        if not np.isfinite(q).all():
            raise BadTransform("not finite", f"rotation {q.tolist()} is not finite")
        norm2 = float(q @ q)
        if abs(norm2 - 1.0) > QUATERNION_TOLERANCE:
            raise BadTransform("not unit", f"rotation {q.tolist()} is not a unit quaternion (norm "
                               f"{np.sqrt(norm2):.6g}; tf2 refuses it too)")
        return cls(t, q / np.sqrt(norm2))

    @classmethod
    def identity(cls) -> Rigid:
        """Return the transform that moves nothing."""
        return cls(np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]))

    def matrix(self) -> np.ndarray:
        """Give the rotation as a 3x3 array, computed once per transform."""
        return self._matrix

    @cached_property
    def _matrix(self) -> np.ndarray:
        x, y, z, w = self.rotation
        return np.array([
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])

    def __mul__(self, other: Rigid) -> Rigid:
        """``self * other``: apply ``other`` first (parent<-mid times mid<-child)."""
        return Rigid(self.translation + self.matrix() @ other.translation,
                     _multiply(self.rotation, other.rotation))

    def inverse(self) -> Rigid:
        """Return the transform the other way (child<-parent)."""
        conjugate = self.rotation * np.array([-1.0, -1.0, -1.0, 1.0])
        return Rigid(-(self.matrix().T @ self.translation), conjugate)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Move (N, 3) points; a row with any NaN comes out all NaN (no depth stays none)."""
        points = np.asarray(points, dtype=np.float64)
        moved = points @ self.matrix().T + self.translation
        moved[~np.isfinite(points).all(axis=1)] = np.nan
        return moved


def interpolate(a: Rigid, b: Rigid, ratio: float) -> Rigid:
    """Return the transform ``ratio`` of the way from ``a`` (0) to ``b`` (1): lerp + slerp."""
    translation = a.translation + (b.translation - a.translation) * ratio
    return Rigid(translation, slerp(a.rotation, b.rotation, ratio))


def slerp(q0: np.ndarray, q1: np.ndarray, ratio: float) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions, the short way round."""
    dot = float(q0 @ q1)
    if dot < 0.0:            # q and -q are one rotation: take the nearer
        q1, dot = -q1, -dot
    if dot > 0.9995:         # nearly equal: lerp, then normalise (slerp's sine vanishes)
        q = q0 + (q1 - q0) * ratio
        return q / np.linalg.norm(q)
    theta = np.arccos(dot)
    q = (np.sin((1 - ratio) * theta) * q0 + np.sin(ratio * theta) * q1) / np.sin(theta)
    return q / np.linalg.norm(q)


def transform_poses(poses: Sequence[Pose], transform: Rigid) -> tuple[Pose, ...]:
    """Express the 3D of ``poses`` (keypoints_3d, position_3d) through ``transform``.

    Pixels, scores and ids are unchanged; a pose without 3D, and a keypoint without depth
    (NaN), stay as they are.
    """
    out = []
    for pose in poses:
        if pose.keypoints_3d is None and pose.position_3d is None:
            out.append(pose)
            continue
        keypoints = (None if pose.keypoints_3d is None
                     else transform.apply(pose.keypoints_3d))
        position = (None if pose.position_3d is None
                    else transform.apply(np.asarray(pose.position_3d)[None])[0])
        out.append(replace(pose, keypoints_3d=keypoints, position_3d=position))
    return tuple(out)


def quaternion(rotation: np.ndarray) -> np.ndarray:
    """(x, y, z, w) of a 3x3 rotation matrix (Shepperd's method: stable for every angle)."""
    m = rotation
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = ((m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4)
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = (s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s)
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = ((m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s)
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = ((m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4, (m[1, 0] - m[0, 1]) / s)
    q = np.array(q)
    return q / np.linalg.norm(q)


def _multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b of (x, y, z, w) quaternions."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz])
