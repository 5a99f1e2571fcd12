"""Depth image message fields to a float32 array in metres.

Two encodings exist for depth in ROS (REP 118): ``16UC1`` in millimetres (RealSense, OAK-D,
Kinect) and ``32FC1`` in metres (ZED, simulators). Mixing them up is a factor of 1000
(ros4hri hri_fullbody #5 read 32FC1 as millimetres), so anything else is refused rather
than guessed. Missing measurements (0 in 16UC1; 0, NaN or inf in 32FC1) become NaN.
"""
from __future__ import annotations

import numpy as np

# encoding -> (numpy dtype without byte order, metres per unit)
DEPTH_ENCODINGS = {"16UC1": ("u2", 0.001), "32FC1": ("f4", 1.0)}
MAX_DEPTH_PIXELS = 64_000_000   # larger is taken as a corrupt header


class DepthError(ValueError):
    """A depth image that cannot be read; the message says which field is wrong."""


def decode_depth(width: int, height: int, step: int, encoding: str, is_bigendian: bool,
                 data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """Return the (height, width) depth in metres, NaN where there is no measurement."""
    if encoding not in DEPTH_ENCODINGS:
        raise DepthError(f"depth encoding {encoding!r} is not supported: use 16UC1 "
                         "(millimetres) or 32FC1 (metres)")
    kind, scale = DEPTH_ENCODINGS[encoding]
    width, height, step = int(width), int(height), int(step)
    if width <= 0 or height <= 0:
        raise DepthError(f"depth image has no pixels ({width}x{height})")
    if width * height > MAX_DEPTH_PIXELS:
        raise DepthError(f"depth image {width}x{height} is larger than {MAX_DEPTH_PIXELS} "
                         "pixels: a corrupt header?")
    dtype = np.dtype((">" if is_bigendian else "<") + kind)
    row_bytes = width * dtype.itemsize
    if step < row_bytes or step % dtype.itemsize:
        raise DepthError(f"depth step {step} does not fit {width} {encoding} pixels "
                         f"(at least {row_bytes}, a multiple of {dtype.itemsize})")
    raw = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    if raw.size != step * height:
        raise DepthError(f"depth data has {raw.size} bytes, step x height = "
                         f"{step} x {height} = {step * height} expected")
    rows = raw.reshape(height, step)[:, :row_bytes]
    values = np.ascontiguousarray(rows).view(dtype).reshape(height, width)
    metres = values.astype(np.float32)
    if scale != 1.0:
        metres *= np.float32(scale)
    metres[~np.isfinite(metres) | (metres <= 0)] = np.nan
    return metres


def encode_depth(metres: np.ndarray, encoding: str, is_bigendian: bool = False
                 ) -> tuple[int, int, int, bytes]:
    """Inverse of :func:`decode_depth` for tests and tools: (width, height, step, data).

    NaN becomes 0 in 16UC1 (no measurement) and stays NaN in 32FC1.
    """
    if encoding not in DEPTH_ENCODINGS:
        raise DepthError(f"depth encoding {encoding!r} is not supported")
    kind, scale = DEPTH_ENCODINGS[encoding]
    dtype = np.dtype((">" if is_bigendian else "<") + kind)
    values = np.asarray(metres, dtype=np.float64) / scale
    if kind == "u2":
        values = np.nan_to_num(np.rint(values), nan=0.0, posinf=0.0, neginf=0.0)
        values = np.clip(values, 0, np.iinfo(np.uint16).max)
    array = values.astype(dtype)
    height, width = array.shape
    return width, height, width * dtype.itemsize, array.tobytes()
