"""Camera messages from a bag → RGB arrays, without ROS (no cv_bridge, no rclpy).

Works on the message objects rosbags deserialises (``sensor_msgs/msg/Image`` and
``CompressedImage``; ``data`` is a numpy uint8 array). It follows the node's decoder
(:mod:`posenet_ros.ros.image_codec`, which needs the ROS message classes) rule for rule, so a
bag analysed offline gives the poses the live node would: same encodings, mono16 scaled by
``>> 8``, JPEG without an end marker refused, the same pixel limit. ``test_bag_frames`` checks
the two agree. Every failure is a :class:`FrameDecodeError` about that one frame, so the
analysis can count and skip it.
"""
from __future__ import annotations

import cv2
import numpy as np

MAX_PIXELS = 7680 * 4320  # 8K UHD; larger frames are almost surely corrupt headers

# encoding -> (bytes per pixel, conversion to RGB or None when already RGB)
_RAW: dict[str, tuple[int, int | None]] = {
    "rgb8": (3, None), "bgr8": (3, cv2.COLOR_BGR2RGB), "8UC3": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB), "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "8UC4": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB), "8UC1": (1, cv2.COLOR_GRAY2RGB),
    # OpenCV names Bayer patterns after the second row: ROS rggb is OpenCV "BG".
    "bayer_rggb8": (1, cv2.COLOR_BayerBG2RGB), "bayer_bggr8": (1, cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg8": (1, cv2.COLOR_BayerGR2RGB), "bayer_grbg8": (1, cv2.COLOR_BayerGB2RGB),
    # packed 4:2:2: ROS "yuv422" is UYVY byte order
    "yuv422": (2, cv2.COLOR_YUV2RGB_UYVY), "uyvy": (2, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": (2, cv2.COLOR_YUV2RGB_YUYV), "yuyv": (2, cv2.COLOR_YUV2RGB_YUYV),
    "mono16": (2, cv2.COLOR_GRAY2RGB),
}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(sorted(_RAW))


class FrameDecodeError(ValueError):
    """One camera message cannot be turned into an RGB image; the message says why."""


def decode_frame(msg: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a deserialised Image or CompressedImage message to RGB uint8 (H, W, 3)."""
    if hasattr(msg, "encoding"):
        return decode_raw(msg, max_pixels)
    if hasattr(msg, "format"):
        return decode_compressed(msg, max_pixels)
    raise FrameDecodeError(f"not a camera image message: {type(msg).__name__}")


def decode_raw(msg: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a ``sensor_msgs/Image``, honouring ``step`` (padded rows) and ``is_bigendian``."""
    encoding, width, height = str(msg.encoding), int(msg.width), int(msg.height)
    step = int(msg.step)
    if encoding == "16UC1":
        raise FrameDecodeError(
            "encoding '16UC1' is usually a depth image (millimetres), not intensity")
    if encoding not in _RAW:
        raise FrameDecodeError(f"unsupported encoding {encoding!r} ({width}x{height}); "
                               f"supported: {', '.join(SUPPORTED_ENCODINGS)}")
    _check_size(width, height, max_pixels)
    pixel_bytes, conversion = _RAW[encoding]
    if pixel_bytes == 2 and encoding != "mono16" and width % 2:
        raise FrameDecodeError(f"{encoding} packs pixel pairs but width {width} is odd")
    row_bytes = width * pixel_bytes
    if step < row_bytes:
        raise FrameDecodeError(
            f"step {step} is smaller than width {width} x {pixel_bytes} bytes per pixel = "
            f"{row_bytes} for encoding {encoding!r}")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size < step * height:
        raise FrameDecodeError(
            f"data has {data.size} bytes, expected step {step} x height {height} = "
            f"{step * height} for {encoding!r} {width}x{height}")
    rows = data[:step * height].reshape(height, step)[:, :row_bytes]
    if encoding == "mono16":
        gray = np.ascontiguousarray(rows).view(">u2" if msg.is_bigendian else "<u2")
        return cv2.cvtColor((gray >> 8).astype(np.uint8), conversion)
    channels = 2 if pixel_bytes == 2 else pixel_bytes
    pixels = np.ascontiguousarray(rows).reshape(height, width, channels) if channels > 1 else \
        np.ascontiguousarray(rows)
    return pixels if conversion is None else cv2.cvtColor(pixels, conversion)


def decode_compressed(msg: object, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a JPEG or PNG ``sensor_msgs/CompressedImage`` (image_transport ``compressed``).

    The ``format`` string (``"jpeg"``, ``"bgr8; jpeg compressed bgr8"``, ...) only matters to
    refuse ``compressedDepth``; the codec is recognised by its magic bytes.
    """
    if "compresseddepth" in str(msg.format).lower():
        raise FrameDecodeError(
            f"format {msg.format!r} is a compressed depth image, not intensity")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise FrameDecodeError(f"compressed image (format {msg.format!r}) has no data")
    head = data[:8].tobytes()
    if head.startswith(b"\xff\xd8"):
        kind = "JPEG"
        if b"\xff\xd9" not in data[-1024:].tobytes():
            raise FrameDecodeError(
                f"truncated JPEG: no end-of-image marker in its {data.size} bytes")
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "PNG"
        if data.size >= 24 and data[12:16].tobytes() == b"IHDR":
            width, height = (int.from_bytes(data[i:i + 4].tobytes(), "big") for i in (16, 20))
            _check_size(width, height, max_pixels)
    else:
        raise FrameDecodeError(
            f"compressed image (format {msg.format!r}, {data.size} bytes) is neither JPEG nor "
            f"PNG: starts with {head[:4].hex()}")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise FrameDecodeError(f"corrupt {kind} ({data.size} bytes, format {msg.format!r})")
    _check_size(bgr.shape[1], bgr.shape[0], max_pixels)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise FrameDecodeError(f"image has zero size: {width}x{height}")
    if width * height > max_pixels:
        raise FrameDecodeError(f"image {width}x{height} has {width * height} pixels, over the "
                               f"limit of {max_pixels}")
