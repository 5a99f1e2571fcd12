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

import struct

import cv2
import numpy as np
from posenet_ros.errors import ImageError

DEFAULT_MAX_PIXELS = 7680 * 4320  # 8K UHD; larger frames are almost surely corrupt headers

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


class ImageDecodeError(ImageError):
    """A message that cannot be turned into an RGB image; the text says why, with the numbers."""


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
    """Decode a JPEG or PNG ``sensor_msgs/CompressedImage`` to an HxWx3 uint8 RGB array."""
    fmt = msg.format.lower()
    if "compresseddepth" in fmt:
        raise ImageDecodeError(f"format {msg.format!r} is a compressed depth image, not intensity")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise ImageDecodeError(f"compressed image (format {msg.format!r}) has no data")
    head = data[:8].tobytes()
    if head.startswith(b"\xff\xd8"):
        kind = "JPEG"
        if b"\xff\xd9" not in data[-1024:].tobytes():
            raise ImageDecodeError(
                f"truncated JPEG: no end-of-image marker in its {data.size} bytes")
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "PNG"
    else:
        raise ImageDecodeError(
            f"compressed image (format {msg.format!r}, {data.size} bytes) is neither JPEG "
            f"nor PNG: starts with {head[:4].hex()}")
    size = _compressed_size(data.tobytes()[:65536], kind)
    if size is not None:
        _check_size(size[0], size[1], max_pixels)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ImageDecodeError(f"corrupt {kind} ({data.size} bytes, format {msg.format!r})")
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


def _compressed_size(head: bytes, kind: str) -> tuple[int, int] | None:
    """Read (width, height) from a PNG IHDR or JPEG SOF header, before decoding.

    This refuses huge images before allocating them; None when the header does not say
    (the decoder then decides).
    """
    if kind == "PNG":
        if len(head) >= 24 and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return width, height
        return None
    pos = 2
    while pos + 9 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", head[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[pos + 5:pos + 9])
            return width, height
        pos += 2 + length
    return None
