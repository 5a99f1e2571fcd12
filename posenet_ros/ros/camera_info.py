"""A CameraInfo subscription whose contents are validated once per change.

Drivers repeat CameraInfo with every frame; validating (and logging) each copy would cost
time and flood the log. A CameraInfo that fails validation is reported once with its reason
and ignored until a different one arrives: markers then use the image plane and no 3D is
computed. A publisher alternating between bad CameraInfos is a change per message: those
reports are throttled (:class:`~posenet_ros.core.throttle.Throttle`, one line per period
with the count).
"""
from __future__ import annotations

import numpy as np
from posenet_ros.camera.intrinsics import CameraInfoError, CameraModel, DISTORTION_COEFFICIENTS
from posenet_ros.core.throttle import Throttle
from sensor_msgs.msg import CameraInfo

_MAX_COEFFICIENTS = max(DISTORTION_COEFFICIENTS.values())


class CameraInfoInput:
    """The newest valid :class:`CameraModel` on a topic (None: none yet, or refused)."""

    def __init__(self, node, topic: str, qos, what: str) -> None:
        self.camera: CameraModel | None = None
        self._what = what
        self._key: tuple | None = None
        self._log = node.get_logger()
        self._throttle = Throttle()
        self._sub = node.create_subscription(CameraInfo, topic, self._on_info, qos)

    def destroy(self, node) -> None:
        node.destroy_subscription(self._sub)

    def _on_info(self, msg: CameraInfo) -> None:
        # A D longer than any model's is refused whatever its values: keyed by its length, so
        # a million coefficients are not copied per message.
        d = msg.d if len(msg.d) <= _MAX_COEFFICIENTS else ()
        key = (bytes(memoryview(np.asarray([*msg.k, *d, *msg.r, *msg.p], float))), len(msg.d),
               msg.distortion_model, msg.width, msg.height)   # bytes: NaN equals itself
        if key == self._key:
            return
        self._key = key
        try:
            self.camera = CameraModel.from_camera_info(msg)
        except CameraInfoError as exc:
            self.camera = None
            line = self._throttle.report(
                self._sub.topic_name, "refused",
                f"camera_info of the {self._what} on {self._sub.topic_name} ignored: {exc}; "
                "markers use the image plane and no 3D is computed until a valid one arrives")
            if line is not None:
                self._log.error(line)
