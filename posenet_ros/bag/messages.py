"""Poses → rosbags message objects (``posenet_ros/msg/PoseArray``, ``MarkerArray``) for writing.

The PoseArray builder and the marker geometry are the node's own
(:mod:`posenet_ros.pose_messages`, :mod:`posenet_ros.marker_geometry`), fed the rosbags
typestore's classes, so bags written offline read like bags recorded from the live node.
Markers use the node's convention without CameraInfo: the image centred on the optical axis
at ``depth`` metres, 1 px = 1 mm, in the image's frame_id.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from posenet_ros.bag.typestore import KEYPOINT, MARKER_ARRAY, POSE, POSE_ARRAY
from posenet_ros.config import EstimatorConfig
from posenet_ros.marker_geometry import MarkerSettings, pose_markers
from posenet_ros.pose import Pose
from posenet_ros.pose_messages import build_pose_array
from rosbags.typesys.store import Typestore


class MessageFactory:
    """Builds output messages with one typestore's classes; settings fields filled once."""

    def __init__(self, store: Typestore, config: EstimatorConfig, model_name: str) -> None:
        self._t = store.types
        self.config = config
        self.model_name = model_name

    def pose_array(self, poses: Sequence[Pose], header: object, image_width: int,
                   image_height: int, input_size: tuple[int, int]) -> object:
        """Build a PoseArray: the input's header, the poses, the settings that produced them."""
        t = self._t
        return build_pose_array((t[KEYPOINT], t[POSE], t[POSE_ARRAY]), poses, header,
                                image_width, image_height, self.config, self.model_name,
                                input_size)

    def marker_array(self, poses: Sequence[Pose], header: object, image_width: int,
                     image_height: int, settings: MarkerSettings = MarkerSettings()) -> object:
        """Build a MarkerArray as the node does without CameraInfo.

        DELETEALL, then per person keypoints and skeleton
        (:func:`~posenet_ros.marker_geometry.pose_markers`).
        """
        marker = self._t["visualization_msgs/msg/Marker"]
        kinds = {"points": marker.SPHERE_LIST, "lines": marker.LINE_LIST}
        markers = [self._marker(header, "", 0, marker.ARROW, marker.DELETEALL, 0.0,
                                (0.0, 0.0, 0.0, 0.0), np.empty((0, 3)))]
        markers += [self._marker(header, spec.namespace, spec.marker_id, kinds[spec.kind],
                                 marker.ADD, spec.size, spec.rgba, spec.points)
                    for spec in pose_markers(poses, image_width, image_height, settings)]
        return self._t[MARKER_ARRAY](markers=markers)

    def _marker(self, header: object, ns: str, marker_id: int, kind: int, action: int,
                size: float, rgba: tuple[float, ...], points: np.ndarray) -> object:
        t = self._t
        point = t["geometry_msgs/msg/Point"]
        empty = np.empty(0, np.uint8)
        return t["visualization_msgs/msg/Marker"](
            header=header, ns=ns, id=marker_id, type=kind, action=action,
            pose=t["geometry_msgs/msg/Pose"](
                position=point(x=0.0, y=0.0, z=0.0),
                orientation=t["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0)),
            scale=t["geometry_msgs/msg/Vector3"](x=size, y=size, z=size),
            color=t["std_msgs/msg/ColorRGBA"](r=rgba[0], g=rgba[1], b=rgba[2], a=rgba[3]),
            lifetime=t["builtin_interfaces/msg/Duration"](sec=0, nanosec=0), frame_locked=False,
            points=[point(x=x, y=y, z=z) for x, y, z in points.tolist()], colors=[],
            texture_resource="",
            texture=t["sensor_msgs/msg/CompressedImage"](header=header, format="", data=empty),
            uv_coordinates=[], text="", mesh_resource="",
            mesh_file=t["visualization_msgs/msg/MeshFile"](filename="", data=empty),
            mesh_use_embedded_materials=False)
