"""Where RViz markers for poses go: keypoints and limbs as 3D points, one pair per person.

Markers live in the image's frame (``header.frame_id``), which ROS camera drivers set to an
optical frame: x right, y down, z forward. A keypoint with measured depth (``Pose.keypoints_3d``,
from an aligned depth image) is drawn where it is; one without is drawn at a fixed distance
``depth`` (metres):

- with a ``CameraInfo``: on the keypoint's camera ray, ``(x, y, z) = depth * ((u - cx) / fx,
  (v - cy) / fy, 1)`` after undistorting (u, v) with D when the image is not rectified
  (plumb_bob, rational_polynomial, equidistant); K is scaled when CameraInfo's size differs
  from the image's (e.g. a resized stream);
- without: on the plane z = ``depth`` with one pixel = 1 mm, centred on the image centre:
  ``(x, y) = ((u - w/2) / 1000, (v - h/2) / 1000)``. A 640x480 image spans 0.64 m x 0.48 m,
  upright when viewed along +z like the camera sees it.

ROS-free: the node and the bag tools turn these specs into
their own ``visualization_msgs/Marker`` classes (:mod:`posenet_ros.outputs.markers`), so
a bag written offline draws like the node.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core.keypoints import SKELETON
from posenet_ros.core.pose import Pose, UNTRACKED
from posenet_ros.outputs.draw import PALETTE as DRAW_PALETTE

PIXEL_SIZE_M = 0.001  # image-plane convention without CameraInfo: 1 px = 1 mm
# The annotated image's colours, as RViz wants them (0..1), cycled over people.
PALETTE = tuple(tuple(channel / 255.0 for channel in rgb) for rgb in DRAW_PALETTE)
_EDGES = np.array(SKELETON, dtype=np.intp)


@dataclass(frozen=True)
class MarkerSpec:
    """One marker: a SPHERE_LIST (``kind`` "points"), LINE_LIST ("lines") or TEXT ("text").

    A text marker stands at its single point with ``text`` as its label.
    """

    namespace: str
    marker_id: int
    kind: str
    size: float                          # metres: sphere diameter or line width
    rgba: tuple[float, float, float, float]
    points: np.ndarray                   # (N, 3) in the image's optical frame
    text: str = ""


@dataclass(frozen=True)
class MarkerSettings:
    depth: float = 2.0                  # metres from the camera along its rays
    scale: float = 0.03                 # sphere diameter in metres; lines are half as wide
    min_keypoint_score: float = 0.5     # keypoints below are not drawn


def keypoints_3d(uv: np.ndarray, image_width: int, image_height: int, depth: float,
                 camera: CameraModel | None = None) -> np.ndarray:
    """Place (N, 2) pixels as (N, 3) points in the optical frame (see the module doc)."""
    if camera is not None:
        xy = camera.normalized(uv, image_width, image_height) * depth
    else:
        xy = (uv - np.array([image_width / 2.0, image_height / 2.0])) * PIXEL_SIZE_M
    return np.column_stack([xy, np.full(len(uv), depth)])


def pose_markers(poses: Sequence[Pose], image_width: int, image_height: int,
                 settings: MarkerSettings, camera: CameraModel | None = None) -> list[MarkerSpec]:
    """Per person with a keypoint at or above the threshold: its keypoints, and its limbs.

    Keypoints are namespace ``keypoints`` with id = the person's track id when tracked, else
    its index (:meth:`Pose.slot`, which also picks the colour); limbs whose two
    ends pass the threshold are ``skeleton`` (line width half the sphere size); a tracked
    person gets a ``labels`` text ``id N`` above its highest visible keypoint.
    """
    specs = []
    for index, pose in enumerate(poses):
        index = pose.slot(index)
        visible = pose.keypoint_scores >= settings.min_keypoint_score
        with np.errstate(all="ignore"):
            points = keypoints_3d(pose.positions, image_width, image_height, settings.depth,
                                  camera)
        if pose.keypoints_3d is not None:     # measured depth where there is some
            measured = np.isfinite(pose.keypoints_3d).all(axis=1)
            points[measured] = pose.keypoints_3d[measured]
        # Never a non-finite point (RViz refuses a marker holding one): one with no place
        # (a NaN keypoint, a calibration the validation let through) is not drawn.
        visible &= np.isfinite(points).all(axis=1)
        if not visible.any():
            continue
        rgba = (*PALETTE[index % len(PALETTE)], 1.0)
        specs.append(MarkerSpec("keypoints", index, "points", settings.scale, rgba,
                                points[visible]))
        limbs = _EDGES[visible[_EDGES[:, 0]] & visible[_EDGES[:, 1]]]
        if len(limbs):
            specs.append(MarkerSpec("skeleton", index, "lines", settings.scale / 2, rgba,
                                    points[limbs.ravel()]))
        if pose.track_id != UNTRACKED:
            top = points[visible][np.argmin(points[visible][:, 1])]   # optical y points down
            label = top - (0.0, 3 * settings.scale, 0.0)
            specs.append(MarkerSpec("labels", index, "text", 2 * settings.scale, rgba,
                                    label[None], f"id {pose.track_id}"))
    return specs
