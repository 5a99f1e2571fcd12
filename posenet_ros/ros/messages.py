"""Poses <-> ``posenet_ros/msg/PoseArray``.

The node builds one PoseArray per frame, so this is on the hot path: positions and scores
are turned into Python floats with one ``tolist()`` per pose, and the 17 part names and ids
come from constants, not per-keypoint lookups.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from posenet_ros.config import EstimatorConfig
from posenet_ros.keypoints import NUM_KEYPOINTS, PART_NAMES
from posenet_ros.msg import Keypoint as KeypointMsg
from posenet_ros.msg import Pose as PoseMsg
from posenet_ros.msg import PoseArray
from posenet_ros.pose import Pose

_PARTS = tuple(enumerate(PART_NAMES))


def to_pose_array(poses: Sequence[Pose], header, image_width: int, image_height: int,
                  config: EstimatorConfig, model_name: str,
                  input_size: tuple[int, int]) -> PoseArray:
    """Build a PoseArray with every field filled: poses plus the settings that made them."""
    msg = PoseArray()
    msg.header = header
    msg.image_width, msg.image_height = int(image_width), int(image_height)
    msg.poses = [_pose_msg(pose) for pose in poses]
    msg.model = model_name
    msg.decoder = config.decoder
    msg.output_stride = int(config.output_stride)
    msg.input_width, msg.input_height = int(input_size[0]), int(input_size[1])
    msg.flip_horizontal = bool(config.flip_horizontal)
    msg.score_threshold = float(config.score_threshold)
    msg.nms_radius = float(config.nms_radius)
    msg.max_detections = int(config.max_detections)
    return msg


def _pose_msg(pose: Pose) -> PoseMsg:
    xy = pose.positions.tolist()
    scores = pose.keypoint_scores.tolist()
    keypoints = [
        KeypointMsg(part_id=part_id, part_name=name, x=x, y=y, score=score)
        for (part_id, name), (x, y), score in zip(_PARTS, xy, scores)
    ]
    return PoseMsg(score=float(pose.score), keypoints=keypoints)


def from_pose_array(msg: PoseArray) -> list[Pose]:
    """Turn a PoseArray back into engine ``Pose`` objects (float32 precision, as sent)."""
    poses = []
    for pose_msg in msg.poses:
        keypoints = pose_msg.keypoints
        if len(keypoints) != NUM_KEYPOINTS:
            raise ValueError(f"a pose needs {NUM_KEYPOINTS} keypoints, got {len(keypoints)}")
        positions = np.array([(k.x, k.y) for k in keypoints], dtype=np.float64)
        scores = np.array([k.score for k in keypoints], dtype=np.float64)
        poses.append(Pose(score=float(pose_msg.score), positions=positions,
                          keypoint_scores=scores))
    return poses
