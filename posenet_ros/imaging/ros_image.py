"""sensor_msgs Image / CompressedImage -> RGB uint8 arrays, without cv_bridge or rclpy.

ROS 2's cv_bridge is not on PyPI and breaks under NumPy 2 (vision_opencv #535), so posenet_ros
decodes messages itself with NumPy and OpenCV. Messages are read by their fields only, so the
same code serves the node (rclpy messages) and the bag tools (messages rosbags deserialises):
a bag analysed offline gives exactly the poses the live node would. Every malformed message
raises one :class:`ImageDecodeError` whose text names the problem and the numbers, so the
caller can log it and go on with the next frame.

Encodings (names from ``sensor_msgs/image_encodings.hpp``):

- ``rgb8``, ``bgr8``, ``rgba8``, ``bgra8``, ``mono8``; ``8UC1`` as mono8, ``8UC3``/``8UC4`` as
  bgr8/bgra8 (what ``cv_bridge.cv2_to_imgmsg`` publishes for OpenCV images by default);
- ``mono16``: scaled to 8 bits by ``v >> 8`` like cv_bridge (full 16-bit range), honouring
  ``is_bigendian``; ``16UC1`` is rejected: it is normally depth in millimetres, not intensity;
- ``yuv422``/``uyvy`` (U Y0 V Y1) and ``yuv422_yuy2``/``yuyv`` (Y0 U Y1 V);
- ``bayer_rggb8``, ``bayer_bggr8``, ``bayer_gbrg8``, ``bayer_grbg8`` (demosaiced by OpenCV);
- CompressedImage ``jpeg``/``png``, whatever the format string says (e.g. ``bgr8; jpeg
  compressed bgr8``): the data's magic bytes decide.

Decoded arrays may share memory with the message (rgb8 with a packed step is a view):
copy before drawing on them.
"""
from __future__ import annotations

import cv2
import numpy as np
from posenet_ros.imaging.headers import (  # noqa: F401 - DEFAULT_MAX_PIXELS: the node's default
    check_cost, DEFAULT_MAX_PIXELS, ImageDecodeError, jpeg_header, png_header, PNG_SIGNATURE)
from posenet_ros.imaging.jpeg_structure import check_flat_tail, JpegStructureError, read_structure

# encoding -> (channels, OpenCV conversion to RGB or None for already-RGB)
_EIGHT_BIT = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "8UC3": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "8UC4": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
    "8UC1": (1, cv2.COLOR_GRAY2RGB),
    # OpenCV names Bayer patterns after the second row: ROS rggb is OpenCV "BG".
    "bayer_rggb8": (1, cv2.COLOR_BayerBG2RGB),
    "bayer_bggr8": (1, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg8": (1, cv2.COLOR_BayerGR2RGB),
    "bayer_grbg8": (1, cv2.COLOR_BayerGB2RGB),
}
_YUV422 = {
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUYV,
    "yuyv": cv2.COLOR_YUV2RGB_YUYV,
}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(sorted([*_EIGHT_BIT, *_YUV422, "mono16"]))


def decode(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an ``Image`` or ``CompressedImage`` (by its fields) to an HxWx3 uint8 RGB array."""
    if hasattr(msg, "format"):
        return compressed_to_rgb(msg, max_pixels)
    if hasattr(msg, "encoding"):
        return image_to_rgb(msg, max_pixels)
    raise ImageDecodeError(f"not a camera image message: {type(msg).__name__}")


def image_to_rgb(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a raw ``sensor_msgs/Image`` (encodings: see the module doc) to RGB uint8."""
    height, width, encoding = msg.height, msg.width, msg.encoding
    _check_size(width, height, max_pixels)
    if encoding in _EIGHT_BIT:
        channels, conversion = _EIGHT_BIT[encoding]
        pixels = _pixel_view(msg, np.dtype(np.uint8), channels)
        if conversion is None:
            return np.ascontiguousarray(pixels)
        if channels == 1:
            pixels = pixels[:, :, 0]
        return cv2.cvtColor(np.ascontiguousarray(pixels), conversion)
    if encoding in _YUV422:
        if width % 2:
            raise ImageDecodeError(f"{encoding} packs pixel pairs but width {width} is odd")
        pairs = _pixel_view(msg, np.dtype(np.uint8), 2)
        return cv2.cvtColor(np.ascontiguousarray(pairs), _YUV422[encoding])
    if encoding == "mono16":
        dtype = np.dtype(">u2" if msg.is_bigendian else "<u2")
        gray = (_pixel_view(msg, dtype, 1)[:, :, 0] >> 8).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    if encoding == "16UC1":
        raise ImageDecodeError(
            "encoding '16UC1' is usually a depth image (millimetres), not intensity; "
            "publish an 8-bit or mono16 image")
    raise ImageDecodeError(
        f"unsupported encoding {encoding!r} ({width}x{height}); supported: "
        f"{', '.join(SUPPORTED_ENCODINGS)}")


def compressed_to_rgb(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a JPEG or PNG ``sensor_msgs/CompressedImage`` to an HxWx3 uint8 RGB array.

    The cost is bounded before decoding: the header's size (found wherever it is) must fit
    ``max_pixels``, its decoded bytes (channels x bit depth) ``max_pixels`` x 4, and a JPEG
    may hold at most ``MAX_SCANS`` scans (:mod:`~posenet_ros.imaging.headers`). A JPEG
    is checked for being cut short (:mod:`posenet_ros.imaging.jpeg_structure`); bytes after its end
    marker are ignored. EXIF orientation is ignored, as ROS's compressed image transport does.
    """
    fmt = msg.format.lower()
    if "compresseddepth" in fmt:
        raise ImageDecodeError(f"format {msg.format!r} is a compressed depth image, not intensity")
    data = np.frombuffer(msg.data, dtype=np.uint8).tobytes()
    if not data:
        raise ImageDecodeError(f"compressed image (format {msg.format!r}) has no data")
    structure = None
    try:
        if data.startswith(b"\xff\xd8"):
            kind = "JPEG"
            check_cost(kind, *jpeg_header(data), max_pixels)
            structure = read_structure(data)
            data = data[:structure.end]
        elif data.startswith(PNG_SIGNATURE):
            kind = "PNG"
            check_cost(kind, *png_header(data), max_pixels)
        else:
            raise ImageDecodeError(
                f"compressed image (format {msg.format!r}, {len(data)} bytes) is neither JPEG "
                f"nor PNG: starts with {data[:4].hex()}")
        try:
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8),
                               cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        except cv2.error as exc:    # OpenCV's own limits and assertions
            raise ImageDecodeError(
                f"OpenCV refused this {kind} ({len(data)} bytes): "
                f"{str(exc).strip().splitlines()[-1]}") from None
        if bgr is None or bgr.size == 0:
            raise ImageDecodeError(f"corrupt {kind} ({len(data)} bytes, format {msg.format!r})")
        if structure is not None:
            check_flat_tail(structure, data, bgr)
    except JpegStructureError as exc:
        raise ImageDecodeError(f"{exc} ({len(data)} bytes, format {msg.format!r})") from None
    _check_size(bgr.shape[1], bgr.shape[0], max_pixels)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"image has zero size: {width}x{height}")
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"image {width}x{height} has {width * height} pixels, over the limit of {max_pixels}")


def _pixel_view(msg, dtype: np.dtype, channels: int) -> np.ndarray:
    """View ``msg.data`` as HxWxC pixels, honouring ``step`` (rows may be padded)."""
    height, width, step = msg.height, msg.width, msg.step
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageDecodeError(
            f"step {step} is smaller than width {width} x {channels * dtype.itemsize} bytes per "
            f"pixel = {row_bytes} for encoding {msg.encoding!r}")
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size < step * height:
        raise ImageDecodeError(
            f"data has {buffer.size} bytes, expected step {step} x height {height} = "
            f"{step * height} for {msg.encoding!r} {width}x{height}")
    if step == row_bytes:
        return buffer[:height * row_bytes].view(dtype).reshape(height, width, channels)
    return np.ndarray((height, width, channels), dtype=dtype, buffer=buffer,
                      strides=(step, channels * dtype.itemsize, dtype.itemsize))
