"""RViz markers for poses: DELETEALL, then per person keypoints and skeleton.

The geometry (real depth where the poses carry 3D, camera rays with CameraInfo, a 1 px = 1 mm
image plane without) is :mod:`posenet_ros.outputs.marker_geometry`'s; this module fills
``visualization_msgs/Marker`` messages of the caller's classes. Each array starts with
DELETEALL so people who left the image vanish from RViz.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core.pose import Pose
from posenet_ros.outputs.marker_geometry import MarkerSettings, MarkerSpec, pose_markers


class MarkerClasses(NamedTuple):
    """The generated classes a MarkerArray is made of."""

    marker: type
    marker_array: type
    point: type
    pose: type
    quaternion: type
    vector3: type
    color: type


def build_marker_array(classes: MarkerClasses, poses: Sequence[Pose], header, image_width: int,
                       image_height: int, settings: MarkerSettings,
                       camera: CameraModel | None = None, **marker_fields):
    """DELETEALL plus the markers of :func:`~posenet_ros.outputs.marker_geometry.pose_markers`.

    ``marker_fields`` are further Marker fields the classes require as keywords (rosbags'
    classes have no defaults).
    """
    m = classes.marker
    kinds = {"points": m.SPHERE_LIST, "lines": m.LINE_LIST, "text": m.TEXT_VIEW_FACING}
    delete_all = MarkerSpec("", 0, "points", 0.0, (0.0, 0.0, 0.0, 0.0), np.empty((0, 3)))
    markers = [_marker(classes, header, delete_all, m.DELETEALL, m.ARROW, marker_fields)]
    markers += [_marker(classes, header, spec, m.ADD, kinds[spec.kind], marker_fields)
                for spec in pose_markers(poses, image_width, image_height, settings, camera)]
    return classes.marker_array(markers=markers)


def _marker(classes: MarkerClasses, header, spec: MarkerSpec, action: int, kind: int,
            marker_fields: dict):
    point, size = classes.point, float(spec.size)
    red, green, blue, alpha = spec.rgba
    if spec.text:   # a text marker is placed by its pose, not by points
        x, y, z = spec.points[0].tolist()
        position, points = point(x=x, y=y, z=z), []
    else:
        position = point(x=0.0, y=0.0, z=0.0)
        points = [point(x=x, y=y, z=z) for x, y, z in spec.points.tolist()]
    return classes.marker(
        header=header, ns=spec.namespace, id=spec.marker_id, type=kind, action=action,
        pose=classes.pose(position=position,
                          orientation=classes.quaternion(x=0.0, y=0.0, z=0.0, w=1.0)),
        scale=classes.vector3(x=size, y=size, z=size),
        color=classes.color(r=red, g=green, b=blue, a=alpha),
        points=points, **{**marker_fields, "text": spec.text})
