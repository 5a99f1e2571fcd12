"""Which of a frame's poses are tracked, by pose score and by duplicates (issue 19).

PoseNet's multi-pose decoder returns, beside real people, low-score poses made of parts of
them (pose scores of a few hundredths); tracked like people, they became confirmed tracks
and took the ids of people walking behind others. A pose is:

- confident (score >= ``high_pose_score``): matched first, may start a track;
- weak (``min_pose_score`` <= score < ``high_pose_score``): may only continue a confirmed
  track that no confident pose took (a person half hidden scores low);
- untracked: below ``min_pose_score``, a NaN score, or a duplicate (OKS >=
  ``duplicate_oks`` with a better-scoring confident pose of the same frame).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from posenet_ros.stages.track.similarity import oks_and_counts


def split(pose_scores: Sequence[float], low: np.ndarray, high: np.ndarray, valid: np.ndarray,
          boxes: np.ndarray, config) -> tuple[np.ndarray, np.ndarray]:
    """Return (confident, weak) masks of a frame's poses (encoded planes, (N, 2, 17)).

    ``config`` is the tracker's (``min_pose_score``, ``high_pose_score``,
    ``duplicate_oks``, ``min_keypoints``).
    """
    score = np.asarray(pose_scores, dtype=np.float64)
    score = np.where(np.isfinite(score), score, -1.0)     # a NaN score tracks nothing
    confident = score >= config.high_pose_score
    weak = (score >= config.min_pose_score) & ~confident
    if len(score) > 1 and confident.any():
        duplicate = duplicates(score, confident, low, high, valid, boxes, config.duplicate_oks,
                               config.min_keypoints)
        confident &= ~duplicate
        weak &= ~duplicate
    return confident, weak


def duplicates(score: np.ndarray, confident: np.ndarray, low: np.ndarray, high: np.ndarray,
               valid: np.ndarray, boxes: np.ndarray, min_oks: float,
               min_keypoints: int) -> np.ndarray:
    """Poses whose OKS with a better-scoring confident pose is ``min_oks`` or more."""
    better = np.flatnonzero(confident)
    sides = boxes[better, 2:] - boxes[better, :2]
    similarity, _ = oks_and_counts(low, valid, high[better], valid[better],
                                   sides[:, 0] * sides[:, 1], min_keypoints)
    index = np.arange(len(score))
    # Better: a higher score, or the same score and earlier in the frame.
    above = (score[better][None, :] > score[:, None]) | (
        (score[better][None, :] == score[:, None]) & (better[None, :] < index[:, None]))
    return ((similarity >= min_oks) & above).any(axis=1)
