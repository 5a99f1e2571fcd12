"""The result type: one detected person."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posenet_ros.keypoints import NUM_KEYPOINTS, PART_NAMES


@dataclass(frozen=True, eq=False)
class Pose:
    """A person: instance score and 17 keypoints in original-image pixels.

    ``positions[k]`` is (x, y) of part ``k`` (ids as in :mod:`posenet_ros.keypoints`),
    ``keypoint_scores[k]`` its confidence in [0, 1]. Arrays keep decoding and message
    building vectorised; :meth:`to_dict` gives the TensorFlow.js PoseNet JSON shape.
    """

    score: float
    positions: np.ndarray        # (17, 2) float64: x, y
    keypoint_scores: np.ndarray  # (17,) float64

    def __post_init__(self) -> None:
        if (self.positions.shape != (NUM_KEYPOINTS, 2)
                or self.keypoint_scores.shape != (NUM_KEYPOINTS,)):
            raise ValueError(
                f"a pose needs positions (17, 2) and scores (17,), got "
                f"{self.positions.shape} and {self.keypoint_scores.shape}")

    def to_dict(self) -> dict:
        """Return the pose in the tfjs format.

        ``{"score", "keypoints": [{"part", "score", "position": {x, y}}]}``.
        """
        return {
            "score": float(self.score),
            "keypoints": [
                {"part": name, "score": float(s), "position": {"x": float(x), "y": float(y)}}
                for name, s, (x, y) in zip(PART_NAMES, self.keypoint_scores, self.positions)
            ],
        }
