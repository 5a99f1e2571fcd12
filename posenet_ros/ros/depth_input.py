"""A stream's aligned depth camera: its subscriptions and the colour-depth pairing.

Depth frames are only buffered in the callback (no decoding there); the worker asks for the
one nearest a colour frame's stamp and decodes just that one, so depth never holds colour
back: an unmatched colour frame goes out in 2D and is counted (:mod:`posenet_ros.stages.depth`).
"""
from __future__ import annotations

import threading

from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core.stamps import stamp_seconds
from posenet_ros.ros.camera_info import CameraInfoInput
from posenet_ros.stages.depth.depth_image import decode_depth, DepthError
from posenet_ros.stages.depth.pairing import DepthPairer
from posenet_ros.stages.depth.sample import DepthSample
from sensor_msgs.msg import Image


class DepthInput:
    """``depth/image`` (16UC1 mm or 32FC1 m) and optional ``depth/camera_info`` of a stream."""

    def __init__(self, node, image_topic: str, info_topic: str, qos, tolerance_s: float,
                 buffer: int) -> None:
        self._lock = threading.Lock()     # callbacks add, the worker matches
        self._pairer = DepthPairer(tolerance_s, buffer)
        self._info = CameraInfoInput(node, info_topic, qos, "depth image")
        self._sub = node.create_subscription(Image, image_topic, self._on_depth, qos)

    @property
    def camera(self) -> CameraModel | None:
        """Return the depth image's intrinsics from its CameraInfo (None: use the colour's)."""
        return self._info.camera

    def destroy(self, node) -> None:
        node.destroy_subscription(self._sub)
        self._info.destroy(node)

    def sample(self, stamp: float, camera: CameraModel | None) -> DepthSample:
        """Pair the colour frame at ``stamp`` (taken with ``camera``) with its depth image.

        Only the paired depth message is decoded (metres, NaN: no reading).
        """
        with self._lock:
            msg = self._pairer.match(stamp)
        if msg is None:
            return DepthSample("unmatched")
        if camera is None:
            return DepthSample("no_camera_info", reason=(
                "needs the colour camera_info (K) to place keypoints in 3D; publishing 2D until "
                "a valid one arrives"))
        try:
            depth = decode_depth(msg.width, msg.height, msg.step, msg.encoding,
                                 bool(msg.is_bigendian), msg.data)   # no copy: a buffer
        except DepthError as exc:
            return DepthSample("refused", reason=str(exc))
        return DepthSample("paired", depth, camera, self.camera)

    def _on_depth(self, msg: Image) -> None:
        with self._lock:
            self._pairer.add_depth(stamp_seconds(msg.header), msg)
