"""The behaviour's input: the people of one frame, as the PoseArray message carries them.

:func:`frame_from_pose_array` is the one reading of a PoseArray (rclpy's or rosbags'), through
the message builders' own parser; :meth:`Person.from_pose` the one conversion of an engine
pose, shared by the node and the benchmarks.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.core.pose import Pose, UNTRACKED
from posenet_ros.core.stamps import stamp_seconds
from posenet_ros.outputs.pose_array import poses_from_pose_array

# More people than any camera view holds; a bound on the work one message can cause.
MAX_POSES = 100


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
        """Euclidean distance to the camera (m), when the person has a 3D position."""
        return None if self.position is None else float(np.linalg.norm(self.position))

    def height_px(self, min_score: float) -> float:
        """Vertical extent of the confident keypoints (pixels): nearness without depth."""
        seen = self.keypoints[self.scores >= min_score, 1]
        return float(seen.max() - seen.min()) if len(seen) else 0.0


@dataclass(frozen=True)
class Frame:
    """The people of one PoseArray, its stamp (s) and image size (pixels)."""

    stamp: float
    image_width: int
    image_height: int
    people: Sequence[Person] = ()


def frame_from_pose_array(msg, max_poses: int = MAX_POSES) -> Frame:
    """Read a posenet_ros/PoseArray; 3D only when its ``depth`` flag is set.

    Raises PosesRefused for more than ``max_poses`` people, before reading any of them.
    """
    if len(msg.poses) > max_poses:
        raise PosesRefused(f"{len(msg.poses)} poses, over the {max_poses} the reactions read")
    people = [Person.from_pose(pose, bool(msg.depth)) for pose in poses_from_pose_array(msg)]
    return Frame(stamp_seconds(msg.header), int(msg.image_width), int(msg.image_height),
                 people)
