"""A camera's intrinsics from CameraInfo fields, validated once per change.

A CameraInfo is checked when it changes, not per frame: a bad one (K with NaN, three
plumb_bob coefficients, an unknown distortion model) raises :class:`CameraInfoError` with
the reason, so the node can log it once and keep placing markers without it, instead of a
traceback from ``cv2.undistortPoints`` or NaN points on every frame. Finite but absurd
coefficients (``cv2.undistortPoints`` turns D = [1e30] * 8 into NaN rays) are found by
undistorting a grid of pixels over the image and projecting it back, once, at validation.
Error texts stay short whatever the message holds (a D of a million NaN names the count
and the first indices).
Reads fields only, so rclpy and rosbags messages serve alike (ROS-free).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from posenet_ros.core.throttle import shorten

# Coefficient counts per model, as sensor_msgs/distortion_models.hpp defines them.
DISTORTION_COEFFICIENTS = {"plumb_bob": 5, "rational_polynomial": 8, "equidistant": 4}
MAX_SIDE = 65535    # CameraInfo width/height beyond this are not a real calibration
# Largest normalised ray coordinate (x/z, y/z) a pixel may undistort to: tan(89.5 deg), a
# field of view just under 180 degrees. Beyond it a plumb_bob or rational_polynomial D is not
# a lens (see the module doc); equidistant (fisheye) rays need only be finite.
MAX_RAY = 115.0


class CameraInfoError(ValueError):
    """A CameraInfo that cannot describe a camera; the text names the field and the values."""


@dataclass(frozen=True)
class CameraModel:
    """The parts of a valid CameraInfo needed to turn pixels into rays."""

    k: np.ndarray            # 3x3 intrinsics
    d: np.ndarray            # distortion coefficients (empty: none)
    distortion_model: str
    width: int
    height: int

    @classmethod
    def from_fields(cls, k: Sequence[float], d: Sequence[float], distortion_model: str,
                    width: int, height: int, r: Sequence[float] = (),
                    p: Sequence[float] = ()) -> CameraModel | None:
        """Validate CameraInfo fields; None for an uncalibrated camera (K all zero).

        Raises :class:`CameraInfoError` naming what is wrong.
        """
        k_arr = _finite("K", k, 9).reshape(3, 3)
        if not k_arr.any():
            return None
        fx, fy = k_arr[0, 0], k_arr[1, 1]
        if fx <= 0 or fy <= 0:
            raise CameraInfoError(f"K has focal lengths fx={fx:g}, fy={fy:g}: both must be > 0")
        if not np.array_equal(k_arr[2], [0.0, 0.0, 1.0]):
            raise CameraInfoError(f"K's last row is {k_arr[2].tolist()}, not [0, 0, 1]")
        d_arr = _finite("D", d, None)
        if d_arr.size:
            expected = DISTORTION_COEFFICIENTS.get(distortion_model)
            if expected is None:
                raise CameraInfoError(
                    f"distortion model {shorten(distortion_model, 40)} is not one of "
                    f"{', '.join(DISTORTION_COEFFICIENTS)} (D has {d_arr.size} coefficients)")
            if d_arr.size != expected:
                raise CameraInfoError(
                    f"D has {d_arr.size} coefficients; {distortion_model} needs {expected}")
        _finite("R", r, 9, allow_empty=True)
        _finite("P", p, 12, allow_empty=True)
        for name, side in (("width", width), ("height", height)):
            if not 0 <= int(side) <= MAX_SIDE:
                raise CameraInfoError(f"{name} {side} is outside 0..{MAX_SIDE}")
        if (int(width) == 0) != (int(height) == 0):
            raise CameraInfoError(f"size {width}x{height}: one side is zero")
        camera = cls(k=k_arr, d=d_arr if d_arr.any() else d_arr[:0],
                     distortion_model=distortion_model, width=int(width), height=int(height))
        if camera.d.size:
            camera._check_rays()
        return camera

    @classmethod
    def from_camera_info(cls, info) -> CameraModel | None:
        """Validate a ``sensor_msgs/CameraInfo`` (rclpy or rosbags); see :meth:`from_fields`."""
        return cls.from_fields(info.k, info.d, info.distortion_model, info.width, info.height,
                               info.r, info.p)

    def _check_rays(self) -> None:
        """Undistort a 9x7 grid over the image and project it back; refuse an impossible D.

        Any non-finite ray is refused. So is D when most of the grid (more than half: a
        circular fisheye leaves its corners without rays) does not come back to within
        5 % of the image diagonal, or goes beyond :data:`MAX_RAY`: OpenCV then gave up
        (pinhole rays, or -1e6 from the fisheye model) and the rays are not this lens's.
        """
        k = self.k
        width = self.width or 2 * k[0, 2]
        height = self.height or 2 * k[1, 2]
        if width <= 0 or height <= 0:
            width, height = 2 * k[0, 0], 2 * k[1, 1]     # no size, principal point off-image
        grid = np.stack(np.meshgrid(np.linspace(0, width, 9), np.linspace(0, height, 7)),
                        -1).reshape(-1, 2)
        with np.errstate(all="ignore"):
            rays = self.normalized(grid, self.width or int(width), self.height or int(height))
            finite = np.isfinite(rays).all(axis=1)
            back = self._project(np.where(finite[:, None], rays, 0.0))
            miss = np.hypot(*(back - grid).T) > 0.05 * np.hypot(width, height)
        wild = ~(np.abs(rays) <= MAX_RAY).all(axis=1) | miss
        if finite.all() and wild.sum() <= len(grid) // 2:
            return
        bad = ~finite if not finite.all() else wild
        u, v = grid[bad][0]
        x, y = rays[bad][0]
        raise CameraInfoError(
            f"D {_short_list(self.d)} ({self.distortion_model}) sends {int(bad.sum())} of "
            f"{len(grid)} test pixels to impossible rays (pixel ({u:.0f}, {v:.0f}) -> "
            f"x/z={x:.3g}, y/z={y:.3g}): not a real lens calibration")

    def _project(self, rays: np.ndarray) -> np.ndarray:
        """Pixels of normalised rays (N, 2) through K and D (the inverse of normalized())."""
        points = np.column_stack([rays, np.ones(len(rays))]).reshape(-1, 1, 3)
        if self.distortion_model == "equidistant":
            uv, _ = cv2.fisheye.projectPoints(points, np.zeros(3), np.zeros(3), self.k, self.d)
        else:
            uv, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), self.k, self.d)
        return uv.reshape(-1, 2)

    def normalized(self, uv: np.ndarray, image_width: int, image_height: int) -> np.ndarray:
        """Map (N, 2) pixels of an image of that size to normalised coordinates (x/z, y/z)."""
        k = self.k.copy()
        calibrated = (self.width, self.height)
        if self.width > 0 and self.height > 0 and calibrated != (image_width, image_height):
            k[0] *= image_width / self.width
            k[1] *= image_height / self.height
        points = uv.reshape(-1, 1, 2).astype(np.float64)
        if self.d.size and self.distortion_model == "equidistant":
            return cv2.fisheye.undistortPoints(points, k, self.d).reshape(-1, 2)
        if self.d.size:
            return cv2.undistortPoints(points, k, self.d).reshape(-1, 2)
        return (uv - k[:2, 2]) / np.array([k[0, 0], k[1, 1]])


def _finite(name: str, values: Sequence[float], size: int | None,
            allow_empty: bool = False) -> np.ndarray:
    """Return ``values`` as float64, checking the count (when given) and finiteness."""
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise CameraInfoError(f"{name} is not a list of numbers: {shorten(str(exc), 120)}") \
            from None
    if size is not None and arr.size != size and not (allow_empty and arr.size == 0):
        raise CameraInfoError(f"{name} has {arr.size} values, expected {size}")
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))
        more = f" and {bad.size - 8} more" if bad.size > 8 else ""
        raise CameraInfoError(f"{name} has non-finite values at {bad[:8].tolist()}{more}: "
                              f"{_short_list(arr)}")
    return arr


def _short_list(arr: np.ndarray, shown: int = 12) -> str:
    """``[v0, v1, ...]`` of at most ``shown`` values, and the count when there are more."""
    head = ", ".join(f"{v:g}" for v in arr[:shown])
    return f"[{head}]" if arr.size <= shown else f"[{head}, ...] ({arr.size} values)"
