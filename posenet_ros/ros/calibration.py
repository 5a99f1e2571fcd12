"""CameraInfo for the camera node: from a calibration file, or a plausible pinhole.

Calibration files use the format of ROS ``camera_calibration_parsers`` (what the
``camera_calibration`` tool writes and ``camera_info_url`` points to): ``image_width``,
``image_height``, ``camera_matrix``, ``distortion_model``, ``distortion_coefficients``,
``rectification_matrix``, ``projection_matrix``, each matrix as ``{rows, cols, data}``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from posenet_ros.camera.pinhole import DEFAULT_HFOV_DEG, guess_pinhole
from sensor_msgs.msg import CameraInfo
import yaml


class CalibrationError(ValueError):
    """The calibration file is unreadable or inconsistent; says what and where."""


def default_camera_info(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> CameraInfo:
    """Make an undistorted pinhole with square pixels and that horizontal field of view."""
    k, p = guess_pinhole(width, height, hfov_deg)
    return _camera_info(width, height, k, np.zeros(5), "plumb_bob", np.eye(3), p)


def load_camera_info(path: str | Path, width: int, height: int) -> CameraInfo:
    """Read a calibration file; K and P are scaled when it was made at another resolution."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CalibrationError(f"cannot read calibration {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CalibrationError(f"calibration {path} is not a YAML mapping")
    try:
        calib_w, calib_h = int(data["image_width"]), int(data["image_height"])
        k = _matrix(data, "camera_matrix", (3, 3))
        d = np.asarray(data.get("distortion_coefficients", {}).get("data", []), dtype=float)
        r = _matrix(data, "rectification_matrix", (3, 3)) if "rectification_matrix" in data \
            else np.eye(3)
        p = _matrix(data, "projection_matrix", (3, 4)) if "projection_matrix" in data \
            else np.hstack([k, np.zeros((3, 1))])
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"calibration {path} is incomplete or malformed: {exc}") from exc
    if (calib_w, calib_h) != (width, height):
        if calib_w <= 0 or calib_h <= 0:
            raise CalibrationError(f"calibration {path} has image size {calib_w}x{calib_h}")
        scale = np.array([[width / calib_w], [height / calib_h], [1.0]])
        k, p = k * scale, p * scale
    return _camera_info(width, height, k, d, str(data.get("distortion_model", "plumb_bob")), r, p)


def _matrix(data: dict, name: str, shape: tuple[int, int]) -> np.ndarray:
    values = np.asarray(data[name]["data"], dtype=float)
    if values.size != shape[0] * shape[1]:
        raise ValueError(f"{name} has {values.size} values, expected {shape[0]}x{shape[1]}")
    return values.reshape(shape)


def _camera_info(width, height, k, d, model, r, p) -> CameraInfo:
    info = CameraInfo(width=int(width), height=int(height), distortion_model=model)
    info.k = [float(v) for v in k.ravel()]
    info.d = [float(v) for v in d.ravel()]
    info.r = [float(v) for v in r.ravel()]
    info.p = [float(v) for v in p.ravel()]
    return info
