"""Poses <-> ``posenet_ros/msg/PoseArray`` with rclpy's classes.

Building is :func:`posenet_ros.pose_messages.build_pose_array` (shared with the bag tools); it
is on the node's hot path, so positions and scores become Python floats with one ``tolist()``
per pose and part names and ids come from constants.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from posenet_ros.config import EstimatorConfig
from posenet_ros.keypoints import NUM_KEYPOINTS
from posenet_ros.msg import Keypoint as KeypointMsg
from posenet_ros.msg import Pose as PoseMsg
from posenet_ros.msg import PoseArray
from posenet_ros.pose import Pose
from posenet_ros.pose_messages import build_pose_array

_CLASSES = (KeypointMsg, PoseMsg, PoseArray)


def to_pose_array(poses: Sequence[Pose], header, image_width: int, image_height: int,
                  config: EstimatorConfig, model_name: str,
                  input_size: tuple[int, int]) -> PoseArray:
    """Build a PoseArray with every field filled: the poses plus the settings behind them."""
    return build_pose_array(_CLASSES, poses, header, image_width, image_height, config,
                            model_name, input_size)


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
