"""Two-stage association of a frame's detections with the live tracks (a matching cascade).

Stage 1 matches by keypoint similarity (OKS against motion-predicted keypoints, optimal
assignment; where keypoints are contested and the image is given, weighed by looks);
stage 2 matches only what stage 1 left, by box-centre distance within the reach
a person can have moved since the track was last seen. Why this order keeps crossing people
apart: docs/tracking.md, "The matching cascade".
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from posenet_ros.stages.track.assignment import assign_arrays
from posenet_ros.stages.track.similarity import box_iou, box_sizes, centre_distance, oks_and_counts
from scipy.optimize import linear_sum_assignment

# Person sizes a keypoint box centre moves with no motion of the person: limbs swinging and
# keypoints dropping in and out shift the box by a few percent of the height each frame.
CENTRE_JITTER = 0.1
# Person sizes per second: a run (5 m/s for a 1.7 m person) is 3 heights per second; walking
# is about 0.8. Bounds how far a person with no known velocity can have gone.
MAX_SPEED = 3.0
# Person sizes per second of pace change between two frames that a known velocity does not
# predict (starting, stopping, turning).
SPEED_CHANGE = 1.0
# Where keypoints are contested (a pose close to two tracks, or a track to two poses), OKS is
# multiplied by the look similarity (Bhattacharyya, 1 for the same colours) to this power.
# Chosen on the TUNE scenes (docs/tracking-eval.md); 0 turns looks in matching off.
APPEARANCE_POWER = 4.0
# A second track (or pose) this similar makes a pair contested.
CONTEST_SIMILARITY = 0.05


def associate(det_positions: np.ndarray, det_valid: np.ndarray, det_boxes: np.ndarray,
              trk_positions: np.ndarray, trk_valid: np.ndarray, trk_boxes: np.ndarray,
              has_velocity: np.ndarray, dt: np.ndarray, min_similarity: float,
              min_keypoints: int, looks: Callable[[], np.ndarray] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Return matched (detection indices, track indices) of one frame.

    Detections: keypoints (N, 17, 2), validity (N, 17), boxes (N, 4). Tracks, predicted to
    this frame: keypoints (M, 17, 2), validity (M, 17), boxes (M, 4), whether each has a
    velocity (M,) and the seconds since its last match (M,), capped by the caller.
    ``looks``, when given, returns the (N, M) look similarities (0: not comparable); it is
    called only when keypoints are contested (:func:`contested`).
    """
    dets, trks = keypoint_pairs(det_positions, det_valid, det_boxes, trk_positions, trk_valid,
                                trk_boxes, min_similarity, min_keypoints, looks)
    n, m = len(det_boxes), len(trk_boxes)
    if len(dets) == n or len(dets) == m:
        return dets, trks
    free_dets = np.ones(n, dtype=bool)
    free_dets[dets] = False
    free_trks = np.ones(m, dtype=bool)
    free_trks[trks] = False
    left_dets, left_trks = np.flatnonzero(free_dets), np.flatnonzero(free_trks)
    more_dets, more_trks = gated_centres(det_boxes[left_dets], trk_boxes[left_trks],
                                         has_velocity[left_trks], dt[left_trks])
    return (np.concatenate([dets, left_dets[more_dets]]),
            np.concatenate([trks, left_trks[more_trks]]))


def keypoint_pairs(det_positions: np.ndarray, det_valid: np.ndarray, det_boxes: np.ndarray,
                   trk_positions: np.ndarray, trk_valid: np.ndarray, trk_boxes: np.ndarray,
                   min_similarity: float, min_keypoints: int,
                   looks: Callable[[], np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 alone: optimal pairs by OKS (box IoU where too few keypoints are shared).

    With ``looks`` (see :func:`associate`), contested pairs are weighed by their looks too.
    """
    if len(det_boxes) == 0 or len(trk_boxes) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    areas = (trk_boxes[:, 2] - trk_boxes[:, 0]) * (trk_boxes[:, 3] - trk_boxes[:, 1])
    similarity, shared = oks_and_counts(det_positions, det_valid, trk_positions, trk_valid,
                                        areas, min_keypoints)
    few = shared < min_keypoints
    if few.any():
        similarity = np.where(few, box_iou(det_boxes, trk_boxes), similarity)
    if looks is not None and APPEARANCE_POWER > 0:
        mask = contested(similarity, min_similarity)
        if mask.any():
            alike = looks()
            weight = np.where(mask & (alike > 0), alike, 1.0) ** APPEARANCE_POWER
            similarity = similarity * weight
    return assign_arrays(similarity, min_similarity)


def contested(similarity: np.ndarray, min_similarity: float) -> np.ndarray:
    """Pairs (N, M) whose pose could go to two tracks, or whose track to two poses.

    There keypoints alone can choose wrong: a person passing in front of another covers
    the hidden one's predicted keypoints, and a large track box makes OKS lenient.
    """
    allowed = similarity >= min_similarity
    near = similarity > CONTEST_SIMILARITY
    rows = near.sum(axis=1, keepdims=True) > 1
    cols = near.sum(axis=0, keepdims=True) > 1
    return allowed & (rows | cols)


def gated_centres(det_boxes: np.ndarray, trk_boxes: np.ndarray, has_velocity: np.ndarray,
                  dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2: optimal pairs by centre distance in person sizes, each within its reach."""
    sizes = box_sizes(trk_boxes)
    distance = centre_distance(det_boxes, trk_boxes, sizes)
    speed = np.where(has_velocity, SPEED_CHANGE, MAX_SPEED)
    # Distance in units of each track's reach (its uncertainty): <= 1 inside the gate.
    gated = distance / (CENTRE_JITTER + speed * np.maximum(dt, 0.0))[None, :]
    allowed = gated <= 1.0
    if not allowed.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows, cols = linear_sum_assignment(np.where(allowed, gated, float(gated.size + 1)))
    keep = allowed[rows, cols]
    return rows[keep], cols[keep]
