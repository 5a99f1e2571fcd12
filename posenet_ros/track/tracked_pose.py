"""The tracker's result for one detected person."""
from __future__ import annotations

from dataclasses import dataclass

from posenet_ros.pose import Pose

UNTRACKED = 0   # track_id of a pose without a confirmed track (tentative, late, tracking off)


@dataclass(frozen=True, eq=False)
class TrackedPose:
    """One detection with its track.

    ``track_id`` is a positive integer, stable while the track lives, or 0 (:data:`UNTRACKED`)
    for a tentative track that is not yet confirmed. ``pose`` is smoothed when smoothing is
    on (else it is ``raw``), ``raw`` is the detection as the model gave it; keypoint scores are
    the model's in both. ``box`` is (x_min, y_min, x_max, y_max) pixels of the raw keypoints above
    the tracker's keypoint threshold (all finite ones when none is above; NaN when none is
    finite): the detection's extent, without filter lag. ``age`` is seconds of
    stamps since the track's first frame, ``hits`` the frames matched to it (this one included).
    """

    track_id: int
    pose: Pose
    raw: Pose
    box: tuple[float, float, float, float]
    age: float
    hits: int
