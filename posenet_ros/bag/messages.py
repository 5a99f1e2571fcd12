"""Poses -> rosbags message objects (``posenet_ros/msg/PoseArray``, ``MarkerArray``) for writing.

The builders are the node's own (:mod:`posenet_ros.outputs`), fed the rosbags typestore's
classes, so bags written offline read like bags recorded from the live node. Markers use the
node's convention without CameraInfo: the image centred on the optical axis at ``depth``
metres, 1 px = 1 mm, in the image's frame_id.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from posenet_ros.bag.typestore import KEYPOINT, MARKER_ARRAY, POSE, POSE_ARRAY
from posenet_ros.core.pose import Pose
from posenet_ros.outputs.marker_geometry import MarkerSettings
from posenet_ros.outputs.markers import build_marker_array, MarkerClasses
from posenet_ros.outputs.pose_array import build_pose_array, MessageClasses
from posenet_ros.stages.pipeline import PipelineFrame
from rosbags.typesys.store import Typestore


class MessageFactory:
    """Builds output messages with one typestore's classes."""

    def __init__(self, store: Typestore, box_min_score: float) -> None:
        t = store.types
        self._t = t
        self.box_min_score = box_min_score
        self._pose_classes = MessageClasses(t[KEYPOINT], t[POSE], t[POSE_ARRAY],
                                            t["geometry_msgs/msg/Point"])
        self._marker_classes = MarkerClasses(
            t["visualization_msgs/msg/Marker"], t[MARKER_ARRAY], t["geometry_msgs/msg/Point"],
            t["geometry_msgs/msg/Pose"], t["geometry_msgs/msg/Quaternion"],
            t["geometry_msgs/msg/Vector3"], t["std_msgs/msg/ColorRGBA"])

    def pose_array(self, frame: PipelineFrame, header: object) -> object:
        """Build a PoseArray as the node does: the input's header, the frame's people."""
        return build_pose_array(self._pose_classes, frame, header,
                                box_min_score=self.box_min_score)

    def marker_array(self, poses: Sequence[Pose], header: object, image_width: int,
                     image_height: int, settings: MarkerSettings = MarkerSettings()) -> object:
        """Build a MarkerArray as the node does without CameraInfo."""
        t = self._t
        empty = np.empty(0, np.uint8)
        return build_marker_array(
            self._marker_classes, poses, header, image_width, image_height, settings,
            lifetime=t["builtin_interfaces/msg/Duration"](sec=0, nanosec=0), frame_locked=False,
            colors=[], texture_resource="",
            texture=t["sensor_msgs/msg/CompressedImage"](header=header, format="", data=empty),
            uv_coordinates=[], text="", mesh_resource="",
            mesh_file=t["visualization_msgs/msg/MeshFile"](filename="", data=empty),
            mesh_use_embedded_materials=False)
