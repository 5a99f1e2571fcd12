"""The behaviour's input: the people of one frame, as the PoseArray message carries them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.core.pose import UNTRACKED


@dataclass(frozen=True, eq=False)
class Person:
    """One person: pixels and scores, and optionally 3D (optical frame, metres).

    ``track_id`` is 0 when untracked; such a person cannot stay a target across frames.
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
