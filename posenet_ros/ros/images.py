"""RGB arrays -> ``sensor_msgs/Image`` for the nodes (annotated image, camera, demo).

Decoding camera messages is ROS-free (:mod:`posenet_ros.imaging.ros_image`, shared with the bag
tools); packing is here because it fills rclpy's Image with an ``array.array``, which skips
the generated setter's per-byte check.
"""
from __future__ import annotations

import array

import cv2
import numpy as np
from posenet_ros.imaging.ros_image import ImageDecodeError
from sensor_msgs.msg import Image

OUTPUT_ENCODINGS = ("rgb8", "bgr8")


def rgb_to_image(rgb: np.ndarray, header=None, encoding: str = "rgb8") -> Image:
    """Pack an HxWx3 uint8 RGB array into a ``sensor_msgs/Image`` (rgb8 or bgr8)."""
    if encoding not in OUTPUT_ENCODINGS:
        raise ImageDecodeError(f"output encoding {encoding!r} is not one of {OUTPUT_ENCODINGS}")
    _check_three_channels(rgb)
    pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if encoding == "bgr8" else rgb
    return pack_image(pixels, encoding, header)


def pack_image(pixels: np.ndarray, encoding: str, header=None) -> Image:
    """Pack HxWx3 uint8 pixels, already in ``encoding``'s channel order, into an Image."""
    _check_three_channels(pixels)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * 3
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(pixels).data)
    msg.data = data  # an array.array skips the per-element check of the generated setter
    return msg


def _check_three_channels(pixels: np.ndarray) -> None:
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageDecodeError(
            f"expected an HxWx3 uint8 array, got {pixels.shape} {pixels.dtype}")
