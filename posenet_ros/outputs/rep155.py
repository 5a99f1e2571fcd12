"""REP-155 (ROS4HRI) body messages from poses: ids, ``hri_msgs/Skeleton2D`` and the body ROI.

REP-155 skeletons use the OpenPose COCO-18 order (``hri_msgs/Skeleton2D``'s constants), which
has a neck the 17 COCO keypoints lack: the neck is the shoulders' mid-point, with the lower of
their two scores (it is only as sure as its less sure shoulder). Coordinates are normalised to
the image (x / width, y / height), confidences are the keypoint scores. The region of interest
is ``hri_msgs/NormalizedRegionOfInterest2D``, as ros4hri's hri_body_detect publishes it.

ROS-free: the ROS adapter (:mod:`posenet_ros.ros.hri`) makes the publishers; :class:`BodyRegistry`
decides when a body appears and when it is gone.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from posenet_ros.core.keypoints import PART_IDS
from posenet_ros.core.pose import Pose

# hri_msgs/Skeleton2D's codes (NOSE = 0 ... RIGHT_EAR = 17) -> our part, None for the neck.
SKELETON2D_PARTS: tuple[str | None, ...] = (
    "nose", None, "rightShoulder", "rightElbow", "rightWrist", "leftShoulder", "leftElbow",
    "leftWrist", "rightHip", "rightKnee", "rightAnkle", "leftHip", "leftKnee", "leftAnkle",
    "leftEye", "rightEye", "leftEar", "rightEar",
)
NECK = SKELETON2D_PARTS.index(None)
_SOURCE = np.array([PART_IDS[p] if p else 0 for p in SKELETON2D_PARTS], dtype=np.intp)
_SHOULDERS = np.array([PART_IDS["leftShoulder"], PART_IDS["rightShoulder"]], dtype=np.intp)
DEFAULT_MAX_BODIES = 32
BODIES_NAMESPACE = "/humans/bodies"


class HriClasses(NamedTuple):
    """The generated classes of the REP-155 body topics."""

    ids_list: type
    skeleton2d: type
    point: type          # NormalizedPointOfInterest2D
    roi: type            # NormalizedRegionOfInterest2D


def body_id(track_id: int) -> str:
    """Return a short REP-155 body id for a confirmed track: ``b`` and the id in base 36."""
    digits, n = "", int(track_id)
    while True:
        n, d = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + digits
        if not n:
            return "b" + digits


def skeleton18(pose: Pose, width: int, height: int) -> np.ndarray:
    """(18, 3) x, y normalised to the image and c, in Skeleton2D's order (module doc)."""
    xy = pose.positions / np.array([float(width), float(height)])
    out = np.column_stack([xy[_SOURCE], pose.keypoint_scores[_SOURCE]])
    out[NECK, :2] = xy[_SHOULDERS].mean(axis=0)
    out[NECK, 2] = pose.keypoint_scores[_SHOULDERS].min()
    # A keypoint with no place (NaN) goes out at 0, 0 with confidence 0: fields must be numbers.
    out[~np.isfinite(out).all(axis=1)] = 0.0
    return np.clip(out, 0.0, 1.0)


def build_skeleton2d(classes: HriClasses, pose: Pose, header, width: int, height: int):
    """Fill a Skeleton2D for ``pose`` in a ``width`` x ``height`` image."""
    point = classes.point
    return classes.skeleton2d(header=header, skeleton=[
        point(x=x, y=y, c=c) for x, y, c in skeleton18(pose, width, height).tolist()])


def build_roi(classes: HriClasses, pose: Pose, header, width: int, height: int,
              min_score: float):
    """Fill a NormalizedRegionOfInterest2D over the keypoints scoring at least ``min_score``.

    ``c`` is the pose score; a pose with no such keypoint gets an empty region with c = 0.
    """
    box = pose.box(min_score)
    if box is None:
        return classes.roi(header=header, xmin=0.0, ymin=0.0, xmax=0.0, ymax=0.0, c=0.0)
    x0, y0, x1, y1 = np.clip(np.array(box) / (width, height, width, height), 0.0, 1.0).tolist()
    return classes.roi(header=header, xmin=x0, ymin=y0, xmax=x1, ymax=y1,
                       c=float(np.clip(pose.score, 0.0, 1.0)))


@dataclass
class BodyRegistry:
    """Which bodies are tracked: a body appears with its track and goes ``max_age`` later.

    The tracker outputs a track only in frames where it matched, so a body stays while its
    track is unseen for at most ``max_age`` seconds of stamps (the tracker's own limit) and its
    topics do not flicker. At most ``max_bodies`` at once: later ones wait for a free place.
    """

    max_age: float = 1.0
    max_bodies: int = DEFAULT_MAX_BODIES
    seen: dict[int, float] = field(default_factory=dict)    # track id -> last stamp

    def update(self, track_ids: Iterable[int], stamp: float) -> tuple[list[int], list[int]]:
        """Record the confirmed ``track_ids`` of a frame; return (appeared, gone) track ids."""
        ids = set(track_ids)
        gone = [tid for tid, last in self.seen.items()
                if stamp < last or (tid not in ids and stamp - last > self.max_age)]
        for tid in gone:          # first, so that a newcomer can take a freed place
            del self.seen[tid]
        appeared = []
        for tid in track_ids:
            if tid in self.seen:
                self.seen[tid] = stamp
            elif len(self.seen) < self.max_bodies:
                self.seen[tid] = stamp
                appeared.append(tid)
        return appeared, gone

    def clear(self) -> list[int]:
        """Forget every body; return their track ids."""
        gone, self.seen = list(self.seen), {}
        return gone
