"""``posenet_ros/PoseArray`` from poses, with whichever generated classes the caller has.

rclpy's classes (the node) and rosbags' typestore classes (the bag tools) both accept every
field as a keyword, so one builder fills both and the two can never drift apart.
"""
from __future__ import annotations

from collections.abc import Sequence

from posenet_ros.config import EstimatorConfig
from posenet_ros.keypoints import PART_NAMES
from posenet_ros.pose import Pose

_PARTS = tuple(enumerate(PART_NAMES))


def build_pose_array(classes: tuple, poses: Sequence[Pose], header, image_width: int,
                     image_height: int, config: EstimatorConfig, model_name: str,
                     input_size: tuple[int, int]):
    """Fill a PoseArray: the input's header, the poses, and the settings that produced them.

    ``classes`` is (Keypoint, Pose, PoseArray) message classes. Every pose gets all 17
    keypoints in part-id order, as the message's fixed-size array requires.
    """
    keypoint_cls, pose_cls, array_cls = classes
    msgs = []
    for pose in poses:
        keypoints = [keypoint_cls(part_id=part_id, part_name=name, x=x, y=y, score=score)
                     for (part_id, name), (x, y), score in
                     zip(_PARTS, pose.positions.tolist(), pose.keypoint_scores.tolist())]
        msgs.append(pose_cls(score=float(pose.score), keypoints=keypoints))
    return array_cls(
        header=header, image_width=int(image_width), image_height=int(image_height), poses=msgs,
        model=model_name, decoder=config.decoder, output_stride=int(config.output_stride),
        input_width=int(input_size[0]), input_height=int(input_size[1]),
        flip_horizontal=bool(config.flip_horizontal),
        score_threshold=float(config.score_threshold), nms_radius=float(config.nms_radius),
        max_detections=int(config.max_detections))
