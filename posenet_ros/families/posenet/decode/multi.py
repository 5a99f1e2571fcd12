"""Multi-pose decoding: PersonLab's fast greedy decoding, as TF.js PoseNet 2.2.2 runs it.

Root candidates (local heatmap maxima above ``score_threshold``) are taken best first; one is
rejected when it lies within ``nms_radius`` pixels of the same part of an already accepted
person (part-based hard NMS); an accepted root grows into a full pose along the pose chain; its
score counts only keypoints not already claimed by earlier people (soft instance score).
"""
from __future__ import annotations

import numpy as np

from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.core.pose import Pose
from posenet_ros.families.posenet.decode.candidates import root_candidates
from posenet_ros.families.posenet.decode.edges import decode_poses

# Candidates are grown in batches: most are parts of people already found and get rejected,
# so growing all of them up front would waste work on crowded frames.
BATCH = 64


def decode_multiple_poses(heatmap: np.ndarray, offsets: np.ndarray,
                          displacements_fwd: np.ndarray, displacements_bwd: np.ndarray,
                          output_stride: int, max_detections: int = 5,
                          score_threshold: float = 0.5, nms_radius: float = 20.0
                          ) -> list[Pose]:
    """Return poses in network-input pixels (positions (17, 2) x/y), best root first."""
    parts, ys, xs, root_scores = root_candidates(heatmap, score_threshold)
    if parts.size == 0:
        return []
    # Root positions: cell * stride + the root part's offset there (JS doubles).
    root_xy = np.empty((parts.size, 2))
    root_xy[:, 0] = xs * output_stride + offsets[NUM_KEYPOINTS + parts, ys, xs].astype(np.float64)
    root_xy[:, 1] = ys * output_stride + offsets[parts, ys, xs].astype(np.float64)
    squared_radius = nms_radius * nms_radius
    accepted_xy = np.empty((0, NUM_KEYPOINTS, 2))
    poses = []
    start = 0
    while len(poses) < max_detections and start < parts.size:
        # Drop candidates already suppressed before paying for their edge following.
        idx = np.arange(start, min(start + BATCH, parts.size))
        start = idx[-1] + 1
        idx = idx[~_near(accepted_xy, parts[idx], root_xy[idx], squared_radius)]
        if idx.size == 0:
            continue
        grown_xy, grown_scores = decode_poses(
            parts[idx], root_xy[idx], root_scores[idx], heatmap, offsets,
            displacements_fwd, displacements_bwd, output_stride)
        # Walk the batch in order; each accepted pose suppresses the later roots near its
        # parts in one vectorised test, so rejected candidates cost no Python work.
        alive = np.ones(idx.size, bool)
        for j in range(idx.size):
            if len(poses) == max_detections:
                break
            if not alive[j]:
                continue
            xy, kp_scores = grown_xy[j], grown_scores[j]
            claimed = _claimed(accepted_xy, xy, squared_radius)
            score = kp_scores[~claimed].sum() / NUM_KEYPOINTS
            poses.append(Pose(float(score), xy, kp_scores))
            accepted_xy = np.concatenate([accepted_xy, xy[None]])
            later = idx[j + 1:]
            alive[j + 1:] &= ~_near(xy[None], parts[later], root_xy[later], squared_radius)
    return poses


def _near(accepted_xy: np.ndarray, parts: np.ndarray, points: np.ndarray,
          squared_radius: float) -> np.ndarray:
    """For each (part, point): whether it is within the radius of that part of an accepted pose."""
    if accepted_xy.shape[0] == 0:
        return np.zeros(parts.shape, bool)
    d = accepted_xy[:, parts, :] - points[None]          # (poses, n, 2)
    return ((d * d).sum(axis=-1) <= squared_radius).any(axis=0)


def _claimed(accepted_xy: np.ndarray, xy: np.ndarray, squared_radius: float) -> np.ndarray:
    """Mask of a new pose's 17 keypoints within the radius of the same part of an earlier pose."""
    if accepted_xy.shape[0] == 0:
        return np.zeros(NUM_KEYPOINTS, bool)
    d = accepted_xy - xy[None]
    return ((d * d).sum(axis=-1) <= squared_radius).any(axis=0)
