"""The behaviour's input: the people of one frame, as the PoseArray message carries them.

:func:`frame_from_pose_array` is the one reading of a PoseArray (rclpy's or rosbags'), through
the message builders' own parser; :meth:`Person.from_pose` the one conversion of an engine
pose, shared by the node and the benchmarks.

The behaviour reasons in camera optical axes (x right, y down, z forward). A PoseArray whose
3D is in another frame (posenet_node's ``target_frame``, ``frame_id_3d``) is taken as a
REP 103 body frame (base_link: x forward, y left, z up) and its axes relabelled into optical
ones by a fixed rotation: lengths are kept, so every distance is measured from that frame's
origin (the robot, with base_link), and bearings from its x axis.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.core.pose import Pose, UNTRACKED
from posenet_ros.core.stamps import stamp_seconds
from posenet_ros.outputs.pose_array import poses_from_pose_array

# More people than any camera view holds; a bound on the work one message can cause.
MAX_POSES = 100
# REP 103 body axes (x forward, y left, z up) -> optical axes (x right, y down, z forward).
BODY_TO_OPTICAL = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


class PosesRefused(ValueError):
    """A PoseArray the behaviour will not read; the message says why."""


@dataclass(frozen=True, eq=False)
class Person:
    """One person: pixels and scores, and optionally 3D (optical frame, metres).

    ``track_id`` is 0 when untracked (a tentative track, or tracking off); such a person is
    never the target, as nothing recognises them in the next frame.
    """

    track_id: int
    keypoints: np.ndarray                  # (17, 2) pixels x, y
    scores: np.ndarray                     # (17,)
    points: np.ndarray | None = None       # (17, 3) metres, rows valid where ``valid``
    valid: np.ndarray | None = None        # (17,) bool
    position: np.ndarray | None = None     # (3,) metres; None without depth

    def __post_init__(self) -> None:
        if self.keypoints.shape != (NUM_KEYPOINTS, 2) or self.scores.shape != (NUM_KEYPOINTS,):
            raise ValueError(f"a person needs keypoints ({NUM_KEYPOINTS}, 2) and scores "
                             f"({NUM_KEYPOINTS},), got {self.keypoints.shape}, "
                             f"{self.scores.shape}")

    @classmethod
    def from_pose(cls, pose: Pose, depth: bool = True) -> Person:
        """Make a Person from an engine pose; 3D only with ``depth``.

        A keypoint whose pixel or score is not finite counts as unseen (score 0), so it
        can neither steer nor make a gesture. The 3D position is kept as given: whether it
        can be followed is the behaviour's decision (:func:`.follow.position_problem`).
        """
        xy = np.asarray(pose.positions, dtype=np.float64)
        scores = np.asarray(pose.keypoint_scores, dtype=np.float64)
        seen = np.isfinite(xy).all(axis=1) & np.isfinite(scores)
        if not seen.all():
            xy, scores = np.where(seen[:, None], xy, 0.0), np.where(seen, scores, 0.0)
        track_id = int(pose.track_id)
        if not depth:
            return cls(track_id, xy, scores)
        points = valid = None
        if pose.keypoints_3d is not None:
            points = np.asarray(pose.keypoints_3d, dtype=np.float64)
            valid = np.isfinite(points).all(axis=1)
        position = (None if pose.position_3d is None
                    else np.asarray(pose.position_3d, dtype=np.float64))
        return cls(track_id, xy, scores, points, valid, position)

    @property
    def tracked(self) -> bool:
        return self.track_id != UNTRACKED

    def key(self, index: int) -> tuple[str, int]:
        """Identity for per-person state: the track, or the index when untracked."""
        return ("track", self.track_id) if self.tracked else ("index", index)

    def distance(self) -> float | None:
        """Return metres from the 3D frame's origin (camera or target_frame); None: no 3D."""
        return None if self.position is None else float(np.linalg.norm(self.position))

    def height_px(self, min_score: float) -> float:
        """Vertical extent of the confident keypoints (pixels): nearness without depth."""
        seen = self.keypoints[self.scores >= min_score, 1]
        return float(seen.max() - seen.min()) if len(seen) else 0.0


@dataclass(frozen=True)
class Frame:
    """The people of one PoseArray, its stamp (s), image size (pixels) and 3D frame.

    ``frame_3d`` is the frame the message's 3D is in; ``optical`` whether that is the
    image's own (else the people's 3D was turned into optical axes: :data:`BODY_TO_OPTICAL`).
    """

    stamp: float
    image_width: int
    image_height: int
    people: Sequence[Person] = ()
    frame_3d: str = ""
    optical: bool = True

    def message_axes(self, vector: np.ndarray | None) -> np.ndarray | None:
        """Return a 3D vector of the behaviour (optical axes) in the axes of ``frame_3d``."""
        if vector is None or self.optical:
            return vector
        return BODY_TO_OPTICAL.T @ np.asarray(vector, dtype=np.float64)[:3]


def frame_from_pose_array(msg, max_poses: int = MAX_POSES) -> Frame:
    """Read a posenet_ros/PoseArray; 3D only when its ``depth`` flag is set.

    3D in a frame other than the image's (``frame_id_3d``; empty in older bags: the image's)
    comes out in optical axes (module docstring). Raises PosesRefused for more than
    ``max_poses`` people, before reading any of them.
    """
    if len(msg.poses) > max_poses:
        raise PosesRefused(f"{len(msg.poses)} poses, over the {max_poses} the reactions read")
    people = [Person.from_pose(pose, bool(msg.depth)) for pose in poses_from_pose_array(msg)]
    frame_3d = getattr(msg, "frame_id_3d", "") or msg.header.frame_id
    optical = frame_3d == msg.header.frame_id
    if not optical:
        people = [_optical_axes(person) for person in people]
    return Frame(stamp_seconds(msg.header), int(msg.image_width), int(msg.image_height),
                 people, frame_3d, optical)


def _optical_axes(person: Person) -> Person:
    """Return ``person`` with its 3D (given in REP 103 body axes) in optical axes."""
    return replace(
        person, points=None if person.points is None else person.points @ BODY_TO_OPTICAL.T,
        position=None if person.position is None else BODY_TO_OPTICAL @ person.position)
