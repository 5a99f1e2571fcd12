"""RViz markers for poses from the node: DELETEALL, then per person keypoints and skeleton.

The geometry (camera rays with CameraInfo, a 1 px = 1 mm image plane without) is in
:mod:`posenet_ros.marker_geometry`; this module only builds the rclpy messages. Each array
starts with DELETEALL so people who left the image vanish from RViz.
"""
from __future__ import annotations

from collections.abc import Sequence

from geometry_msgs.msg import Point
from posenet_ros.marker_geometry import (
    CameraModel, keypoints_3d, MarkerSettings, MarkerSpec, PALETTE, PIXEL_SIZE_M, pose_markers)
from posenet_ros.pose import Pose
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

__all__ = ["CameraModel", "MarkerSettings", "PALETTE", "PIXEL_SIZE_M", "keypoints_3d",
           "to_marker_array"]
_TYPES = {"points": Marker.SPHERE_LIST, "lines": Marker.LINE_LIST}


def to_marker_array(poses: Sequence[Pose], header, image_width: int, image_height: int,
                    settings: MarkerSettings, camera: CameraModel | None = None) -> MarkerArray:
    """Build DELETEALL plus the markers of :func:`~posenet_ros.marker_geometry.pose_markers`."""
    markers = [Marker(header=header, action=Marker.DELETEALL)]
    markers += [_marker(header, spec)
                for spec in pose_markers(poses, image_width, image_height, settings, camera)]
    return MarkerArray(markers=markers)


def _marker(header, spec: MarkerSpec) -> Marker:
    marker = Marker(header=header, ns=spec.namespace, id=spec.marker_id, type=_TYPES[spec.kind],
                    action=Marker.ADD)
    marker.pose.orientation.w = 1.0
    marker.scale.x = marker.scale.y = marker.scale.z = float(spec.size)
    red, green, blue, alpha = spec.rgba
    marker.color = ColorRGBA(r=red, g=green, b=blue, a=alpha)
    marker.points = [Point(x=x, y=y, z=z) for x, y, z in spec.points.tolist()]
    return marker
