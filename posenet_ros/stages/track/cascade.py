"""Two-stage association of a frame's detections with the live tracks (a matching cascade).

Stage 1, keypoints: OKS of each detection with each track's motion-predicted keypoints (box
IoU for a pair sharing too few keypoints), optimal assignment, pairs at ``min_similarity`` or
more. OKS is sharp: its falloff is a few percent of the person's size per keypoint, so a
match here is a confident one, and two people side by side are told apart by their limbs.

Stage 2, motion-gated centres: the detections and tracks stage 1 left over are matched by
the distance of their box centres in person sizes (the track's box, moved by its velocity),
optimally (in units of each track's reach), within a reach that grows with the time since
the track was last matched::

    reach = CENTRE_JITTER + speed_uncertainty * dt

``speed_uncertainty`` is :data:`MAX_SPEED` for a track whose velocity is unknown (seen in one
frame only, or motion off: the person may have gone any way at any plausible speed) and
:data:`SPEED_CHANGE` for one with a velocity (only a change of pace since the last frame is
unexplained). This is what OKS cannot do: a person moving more than about a tenth of their
height between frames (walking at 5 fps, running at 10 fps) leaves OKS's reach of a track
that has no velocity yet, so the track never gets its second frame, never a velocity, and
is never confirmed. Stage 2 gives it that second frame; from the third on the prediction
brings OKS back.

Why stage 2 does not swap people who cross: it only sees what stage 1 left. A track whose
person is found by their keypoints is never offered to a nearer box, so the centre rule
decides only for tracks OKS could not place (a new track, a person half hidden, a sudden
turn), and there the gate keeps it to where that person can have gone. (Letting young
tracks' centre similarity compete with OKS in one assignment did swap ids at walking speed:
a centre 0.1 heights away scored as well as a perfect keypoint match.) ByteTrack's cascade
(confident matches first, the rest with a looser rule) is the model.
"""
from __future__ import annotations

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


def associate(det_positions: np.ndarray, det_valid: np.ndarray, det_boxes: np.ndarray,
              trk_positions: np.ndarray, trk_valid: np.ndarray, trk_boxes: np.ndarray,
              has_velocity: np.ndarray, dt: np.ndarray, min_similarity: float,
              min_keypoints: int) -> tuple[np.ndarray, np.ndarray]:
    """Return matched (detection indices, track indices) of one frame.

    Detections: keypoints (N, 17, 2), validity (N, 17), boxes (N, 4). Tracks, predicted to
    this frame: keypoints (M, 17, 2), validity (M, 17), boxes (M, 4), whether each has a
    velocity (M,) and the seconds since its last match (M,), capped by the caller.
    """
    dets, trks = keypoint_pairs(det_positions, det_valid, det_boxes, trk_positions, trk_valid,
                                trk_boxes, min_similarity, min_keypoints)
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
                   min_similarity: float, min_keypoints: int) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 alone: optimal pairs by OKS (box IoU where too few keypoints are shared)."""
    if len(det_boxes) == 0 or len(trk_boxes) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    areas = (trk_boxes[:, 2] - trk_boxes[:, 0]) * (trk_boxes[:, 3] - trk_boxes[:, 1])
    similarity, shared = oks_and_counts(det_positions, det_valid, trk_positions, trk_valid,
                                        areas, min_keypoints)
    few = shared < min_keypoints
    if few.any():
        similarity = np.where(few, box_iou(det_boxes, trk_boxes), similarity)
    return assign_arrays(similarity, min_similarity)


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
