"""The stages after the engine, shared by the node, the CLI and the bag tool.

One image flows one way: engine poses -> tracked poses (ids, optional smoothing) -> poses
placed in 3D (with an aligned depth image). Each stage returns new :class:`Pose` values, so
the message builders see one list whatever ran.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core.pose import Pose
from posenet_ros.stages.depth.lift import DepthConfig, lift_poses, with_3d
from posenet_ros.stages.track.tracker import PoseTracker


def stamp_seconds(header) -> float:
    """Return a ROS header's stamp in seconds (rclpy's or rosbags'), the one time every stage uses.

    The node and the bag tool must compute it alike to give the same track ids.
    """
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def track(tracker: PoseTracker, poses: Sequence[Pose], stamp: float) -> list[Pose]:
    """Poses with their track ids and ages; positions smoothed when the tracker smooths.

    Keypoint scores stay the model's (the tracker never changes them).
    """
    return [replace(t.raw, positions=t.positions, track_id=int(t.track_id),
                    track_age=float(t.age))
            for t in tracker.update(list(poses), stamp)]


def place_in_3d(poses: Sequence[Pose], depth: np.ndarray, image_size: tuple[int, int],
                camera: CameraModel, config: DepthConfig,
                depth_camera: CameraModel | None = None) -> list[Pose]:
    """Poses with ``keypoints_3d`` and ``position_3d`` from a depth image (metres, NaN holes)."""
    people = lift_poses(poses, depth, image_size, camera, config, depth_camera)
    return [with_3d(pose, person) for pose, person in zip(poses, people)]
