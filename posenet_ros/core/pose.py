"""The result type: one detected person."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posenet_ros.core.keypoints import NUM_KEYPOINTS, PART_NAMES

UNTRACKED = 0   # track_id of a pose no tracker has confirmed


@dataclass(frozen=True, eq=False)
class Pose:
    """A person: instance score and 17 keypoints in original-image pixels.

    ``positions[k]`` is (x, y) of part ``k`` (ids as in :mod:`posenet_ros.core.keypoints`),
    ``keypoint_scores[k]`` its confidence in [0, 1]. Arrays keep decoding and message
    building vectorised; :meth:`to_dict` gives the TensorFlow.js PoseNet JSON shape.

    Later stages fill the rest: a tracker the ``track_id`` (:data:`UNTRACKED` until then) and
    ``track_age`` (seconds of stamps), depth ``keypoints_3d`` ((17, 3) metres in the camera
    optical frame, NaN rows where no valid depth) and ``position_3d`` ((3,), the person).
    """

    score: float
    positions: np.ndarray        # (17, 2) float64: x, y
    keypoint_scores: np.ndarray  # (17,) float64
    track_id: int = UNTRACKED
    track_age: float = 0.0
    keypoints_3d: np.ndarray | None = None
    position_3d: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.positions.shape != (NUM_KEYPOINTS, 2)
                or self.keypoint_scores.shape != (NUM_KEYPOINTS,)):
            raise ValueError(
                f"a pose needs positions ({NUM_KEYPOINTS}, 2) and scores ({NUM_KEYPOINTS},), "
                f"got {self.positions.shape} and {self.keypoint_scores.shape}")

    def slot(self, index: int) -> int:
        """Colour and marker id of the person at ``index`` in its frame.

        Its track id when tracked (>= 1, the same in every frame), else ``-(index + 1)`` so
        that untracked people never take a tracked person's id.
        """
        return self.track_id if self.track_id != UNTRACKED else -(index + 1)

    def box(self, min_score: float) -> tuple[float, float, float, float] | None:
        """(x_min, y_min, x_max, y_max) of the keypoints scoring at least ``min_score``."""
        confident = self.positions[self.keypoint_scores >= min_score]
        confident = confident[np.isfinite(confident).all(axis=1)]
        if not len(confident):
            return None
        (x0, y0), (x1, y1) = confident.min(axis=0), confident.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def to_dict(self) -> dict:
        """Return the pose in the tfjs format.

        ``{"score", "keypoints": [{"part", "score", "position": {x, y}}]}``, plus
        ``track_id`` when a tracker has confirmed the pose.
        """
        out = {
            "score": float(self.score),
            "keypoints": [
                {"part": name, "score": float(s), "position": {"x": float(x), "y": float(y)}}
                for name, s, (x, y) in zip(PART_NAMES, self.keypoint_scores, self.positions)
            ],
        }
        if self.track_id != UNTRACKED:
            out["track_id"] = int(self.track_id)
        return out
