"""The tracker's result for one detected person."""
from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from posenet_ros.core.pose import Pose

UNTRACKED = 0   # track_id of a pose without a confirmed track (tentative, late, tracking off)


class TrackedPose(NamedTuple):
    """One detection with its track.

    ``track_id`` is a positive integer, stable while the track lives, or 0 (:data:`UNTRACKED`)
    for a tentative track that is not yet confirmed. ``raw`` is the detection as the model
    gave it, ``positions`` the (17, 2) keypoints to show: smoothed when smoothing is on, else
    ``raw.positions`` itself; keypoint scores are the model's in both. ``box`` is (x_min,
    y_min, x_max, y_max) pixels of the raw keypoints above the tracker's keypoint threshold
    (all finite ones when none is above; NaN when none is finite): the detection's extent,
    without filter lag. ``age`` is seconds of stamps since the track's first frame, ``hits``
    the frames matched to it (this one included). A named tuple: one is built per person and
    frame, at a quarter of a frozen dataclass's cost.
    """

    track_id: int
    raw: Pose
    positions: np.ndarray
    box: tuple[float, float, float, float]
    age: float
    hits: int

    @property
    def pose(self) -> Pose:
        """Return the detection at the shown positions (``raw`` itself when they are its own).

        Built on demand: the pipeline builds its final Pose once, with the track id
        (``people.track``), not an intermediate one per person and frame.
        """
        if self.positions is self.raw.positions:
            return self.raw
        return replace(self.raw, positions=self.positions)
