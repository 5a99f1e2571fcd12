"""``foxglove_msgs/ImageAnnotations`` for poses: what Foxglove and Lichtblick draw over a video.

Per person with a keypoint at or above ``min_keypoint_score``: its limbs (SKELETON edges whose
two ends pass) as one LINE_LIST ``PointsAnnotation``, its keypoints as one POINTS annotation,
and, when tracked, ``id N`` as a ``TextAnnotation`` above its highest keypoint; one colour per
person, the markers' (:data:`~posenet_ros.outputs.marker_geometry.PALETTE`, picked by
:meth:`Pose.slot`). Points are pixels of the image the poses are in, with Foxglove's origin (the
top-left corner of the top-left pixel), which is the engine's convention too.

ROS-free: the node passes rclpy's classes, the bag tool rosbags' typestore classes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from posenet_ros.core.keypoints import SKELETON
from posenet_ros.core.pose import Pose, UNTRACKED
from posenet_ros.outputs.marker_geometry import PALETTE

POINTS = 1          # PointsAnnotation.POINTS
LINE_LIST = 4       # PointsAnnotation.LINE_LIST
LINE_THICKNESS = 2.0   # pixels
POINT_SIZE = 5.0       # pixels: Foxglove draws POINTS with the thickness as diameter
FONT_SIZE = 14.0       # pixels
_EDGES = np.array(SKELETON, dtype=np.intp)


class AnnotationClasses(NamedTuple):
    """The generated classes an ImageAnnotations is made of."""

    image_annotations: type
    points_annotation: type
    text_annotation: type
    point2: type
    color: type


def build_image_annotations(classes: AnnotationClasses, poses: Sequence[Pose], stamp,
                            min_keypoint_score: float):
    """Fill an ImageAnnotations for ``poses`` at ``stamp`` (a builtin_interfaces/Time).

    ``stamp`` should be the image's header stamp: Foxglove shows annotations with the image
    of the same timestamp.
    """
    point_annotations, texts = [], []
    clear = classes.color(r=0.0, g=0.0, b=0.0, a=0.0)
    for index, pose in enumerate(poses):
        slot = pose.slot(index)
        xy = pose.positions
        visible = (pose.keypoint_scores >= min_keypoint_score) & np.isfinite(xy).all(axis=1)
        if not visible.any():
            continue
        red, green, blue = PALETTE[slot % len(PALETTE)]
        colour = classes.color(r=red, g=green, b=blue, a=1.0)
        limbs = _EDGES[visible[_EDGES[:, 0]] & visible[_EDGES[:, 1]]]
        if len(limbs):
            point_annotations.append(_points(classes, stamp, LINE_LIST, xy[limbs.ravel()],
                                             colour, clear, LINE_THICKNESS))
        point_annotations.append(_points(classes, stamp, POINTS, xy[visible], colour, colour,
                                         POINT_SIZE))
        if pose.track_id != UNTRACKED:
            top = xy[visible][np.argmin(xy[visible][:, 1])]    # image y points down
            texts.append(classes.text_annotation(
                timestamp=stamp,
                position=classes.point2(x=float(top[0]), y=float(top[1]) - FONT_SIZE / 2),
                text=f"id {pose.track_id}", font_size=FONT_SIZE, text_color=colour,
                background_color=classes.color(r=0.0, g=0.0, b=0.0, a=0.5)))
    return classes.image_annotations(circles=[], points=point_annotations, texts=texts)


def _points(classes: AnnotationClasses, stamp, kind: int, xy: np.ndarray, colour, fill,
            thickness: float):
    point2 = classes.point2
    return classes.points_annotation(
        timestamp=stamp, type=kind, points=[point2(x=x, y=y) for x, y in xy.tolist()],
        outline_color=colour, outline_colors=[], fill_color=fill, thickness=thickness)
