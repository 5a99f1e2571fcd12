"""``posenet_ros/PoseArray`` from a pipeline frame, with the caller's generated classes.

rclpy's classes (the node) and rosbags' typestore classes (the bag tools) both accept every
field as a keyword, so one builder fills both and the two can never drift apart. It is on
the node's hot path: positions and scores become Python floats with one ``tolist()`` per
pose, part names and ids come from constants, and keypoints without 3D share one zero Point.
"""
from __future__ import annotations

from math import isfinite
from typing import NamedTuple

import numpy as np

from posenet_ros.core.keypoints import PART_NAMES
from posenet_ros.core.pose import Pose
from posenet_ros.core.result import Decoding
from posenet_ros.stages.pipeline import PipelineFrame

_PARTS = tuple(enumerate(PART_NAMES))


class MessageClasses(NamedTuple):
    """The generated classes a PoseArray is made of."""

    keypoint: type
    pose: type
    pose_array: type
    point: type


def build_pose_array(classes: MessageClasses, frame: PipelineFrame, header, *,
                     box_min_score: float, frame_id_3d: str | None = None):
    """Fill a PoseArray: the input's header, the frame's people, and how they were made.

    The flags say which stages ran (``smoothing`` also when the model smoothed). Every pose
    gets all 17 keypoints in part-id order, as the message's fixed-size array requires, and a
    box over keypoints scoring at least ``box_min_score``. ``frame_id_3d`` names the frame
    the 3D is in (None: the image's, ``header.frame_id``); it is left empty without 3D.
    """
    zero = classes.point(x=0.0, y=0.0, z=0.0)
    msgs = [_pose_msg(classes, pose, zero, box_min_score) for pose in frame.poses]
    result = frame.engine
    config = result.config
    decoding = result.decoding or Decoding(config.score_threshold, config.nms_radius,
                                           config.max_detections)
    return classes.pose_array(
        header=header, image_width=int(result.image_size[0]),
        image_height=int(result.image_size[1]), poses=msgs, model=result.model,
        decoder=result.decoder, output_stride=int(result.output_stride),
        input_width=int(result.input_size[0]), input_height=int(result.input_size[1]),
        flip_horizontal=bool(config.flip_horizontal),
        score_threshold=float(decoding.score_threshold),
        nms_radius=float(decoding.nms_radius), max_detections=int(decoding.max_detections),
        tracking=frame.tracked, smoothing=frame.smoothed or result.smoothed,
        depth=frame.has_3d, frame_id_3d=(
            (header.frame_id if frame_id_3d is None else frame_id_3d) if frame.has_3d else ""))


def _pose_msg(classes: MessageClasses, pose: Pose, zero, box_min_score: float):
    points = _points(classes.point, pose.keypoints_3d, zero)
    keypoints = [classes.keypoint(part_id=part_id, part_name=name, x=x, y=y, score=score,
                                  valid_3d=point is not zero, position=point)
                 for (part_id, name), (x, y), score, point in
                 zip(_PARTS, pose.positions.tolist(), pose.keypoint_scores.tolist(), points)]
    box = pose.box(box_min_score) or (0.0, 0.0, 0.0, 0.0)
    where = (_points(classes.point, pose.position_3d[None], zero)[0]
             if pose.position_3d is not None else zero)
    return classes.pose(
        score=float(pose.score), keypoints=keypoints, track_id=int(pose.track_id),
        track_age=float(pose.track_age), box_x_min=box[0], box_y_min=box[1],
        box_x_max=box[2], box_y_max=box[3], valid_3d=where is not zero, position=where)


def _points(point_cls: type, xyz: np.ndarray | None, zero) -> list:
    """Make a Point per row; rows with a NaN (no valid depth) are the shared ``zero``."""
    if xyz is None:
        return [zero] * len(PART_NAMES)
    return [point_cls(x=x, y=y, z=z) if isfinite(x + y + z) else zero
            for x, y, z in xyz.tolist()]


def poses_from_pose_array(msg) -> list[Pose]:
    """Turn a PoseArray (rclpy's or rosbags') back into engine poses, as sent (float32)."""
    poses = []
    for pose_msg in msg.poses:
        keypoints = pose_msg.keypoints
        if len(keypoints) != len(PART_NAMES):
            raise ValueError(f"a pose needs {len(PART_NAMES)} keypoints, got {len(keypoints)}")
        positions = np.array([(k.x, k.y) for k in keypoints], dtype=np.float64)
        scores = np.array([k.score for k in keypoints], dtype=np.float64)
        xyz = np.array([(k.position.x, k.position.y, k.position.z) if k.valid_3d
                        else (np.nan,) * 3 for k in keypoints], dtype=np.float64)
        where = pose_msg.position
        poses.append(Pose(
            score=float(pose_msg.score), positions=positions, keypoint_scores=scores,
            track_id=int(pose_msg.track_id), track_age=float(pose_msg.track_age),
            keypoints_3d=xyz if np.isfinite(xyz).any() else None,
            position_3d=(np.array([where.x, where.y, where.z]) if pose_msg.valid_3d else None)))
    return poses
