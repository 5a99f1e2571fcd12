"""Poses → rosbags message objects (``posenet_ros/msg/PoseArray``, ``MarkerArray``) for writing.

The same fields and conventions as the node's :mod:`posenet_ros.ros.messages` and
:mod:`posenet_ros.ros.markers`, built from the rosbags typestore instead of rclpy classes,
so bags written offline read like bags recorded from the live node. Markers use the
image-plane convention of the node when it has no CameraInfo: the image centred on the
optical axis at ``depth`` metres, 1 px = 1 mm, in the image's frame_id.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from posenet_ros.bag.typestore import KEYPOINT, MARKER_ARRAY, POSE, POSE_ARRAY
from posenet_ros.config import EstimatorConfig
from posenet_ros.keypoints import PART_NAMES, SKELETON
from posenet_ros.pose import Pose
from rosbags.typesys.store import Typestore

PIXEL_SIZE_M = 0.001
# Okabe-Ito colours, cycled over people (as the node's markers).
PALETTE = ((0.90, 0.62, 0.0), (0.34, 0.71, 0.91), (0.0, 0.62, 0.45), (0.94, 0.89, 0.26),
           (0.0, 0.45, 0.70), (0.84, 0.37, 0.0), (0.80, 0.47, 0.65))
_EDGES = np.array(SKELETON, dtype=np.intp)
_PARTS = tuple(enumerate(PART_NAMES))


@dataclass(frozen=True)
class MarkerSettings:
    depth: float = 2.0                  # metres in front of the camera
    scale: float = 0.03                 # sphere diameter in metres; lines are half as wide
    min_keypoint_score: float = 0.5     # keypoints below are not drawn


class MessageFactory:
    """Builds output messages with one typestore's classes; settings fields filled once."""

    def __init__(self, store: Typestore, config: EstimatorConfig, model_name: str) -> None:
        self._t = store.types
        self.config = config
        self.model_name = model_name

    def pose_array(self, poses: Sequence[Pose], header: object, image_width: int,
                   image_height: int, input_size: tuple[int, int]) -> object:
        """Build a PoseArray: the input's header, the poses, the settings that produced them."""
        keypoint, pose_msg, cfg = self._t[KEYPOINT], self._t[POSE], self.config
        msgs = []
        for pose in poses:
            keypoints = [keypoint(part_id=part_id, part_name=name, x=x, y=y, score=s)
                         for (part_id, name), (x, y), s in
                         zip(_PARTS, pose.positions.tolist(), pose.keypoint_scores.tolist())]
            msgs.append(pose_msg(score=float(pose.score), keypoints=keypoints))
        return self._t[POSE_ARRAY](
            header=header, image_width=int(image_width), image_height=int(image_height),
            poses=msgs,
            model=self.model_name, decoder=cfg.decoder, output_stride=int(cfg.output_stride),
            input_width=int(input_size[0]), input_height=int(input_size[1]),
            flip_horizontal=bool(cfg.flip_horizontal), score_threshold=float(cfg.score_threshold),
            nms_radius=float(cfg.nms_radius), max_detections=int(cfg.max_detections))

    def marker_array(self, poses: Sequence[Pose], header: object, image_width: int,
                     image_height: int, settings: MarkerSettings = MarkerSettings()) -> object:
        """Build a MarkerArray as the node does.

        DELETEALL, then per visible person a SPHERE_LIST (``keypoints``) and a LINE_LIST
        (``skeleton``) of limbs whose two ends pass ``settings.min_keypoint_score``.
        """
        marker = self._t["visualization_msgs/msg/Marker"]
        markers = [self._marker(header, "", 0, marker.ARROW, marker.DELETEALL, 0.0,
                                (0.0, 0.0, 0.0, 0.0), np.empty((0, 3)))]
        centre = np.array([image_width / 2.0, image_height / 2.0])
        for index, pose in enumerate(poses):
            visible = pose.keypoint_scores >= settings.min_keypoint_score
            if not visible.any():
                continue
            xy = (pose.positions - centre) * PIXEL_SIZE_M
            points = np.column_stack([xy, np.full(len(xy), settings.depth)])
            rgba = (*PALETTE[index % len(PALETTE)], 1.0)
            markers.append(self._marker(header, "keypoints", index, marker.SPHERE_LIST,
                                        marker.ADD, settings.scale, rgba, points[visible]))
            limbs = _EDGES[visible[_EDGES[:, 0]] & visible[_EDGES[:, 1]]]
            if len(limbs):
                markers.append(self._marker(header, "skeleton", index, marker.LINE_LIST,
                                            marker.ADD, settings.scale / 2, rgba,
                                            points[limbs.ravel()]))
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
