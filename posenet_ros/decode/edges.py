"""Following the pose chain from a root part to the others, for many root candidates at once.

tfjs ``decodePose`` walks the 16 edges of the pose tree: first backwards (child -> parent, with
the backward displacements), then forwards (parent -> child, forward displacements). Each hop
jumps by the displacement at the source's nearest grid cell, then snaps to the target part's
offset field twice. Which hops happen depends only on the root part, so all candidates advance
edge by edge together, each edge one vectorised step.
"""
from __future__ import annotations

import numpy as np

from posenet_ros.keypoints import NUM_KEYPOINTS, POSE_CHAIN

PARENTS = np.array([p for p, _ in POSE_CHAIN])
CHILDREN = np.array([c for _, c in POSE_CHAIN])
OFFSET_REFINE_STEPS = 2


def nearest_cell(xy: np.ndarray, output_stride: int, height: int, width: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Grid (y, x) nearest to pixel points (n, 2), clamped; rounds halves up like JS Math.round."""
    gy = np.clip(np.floor(xy[:, 1] / output_stride + 0.5), 0, height - 1).astype(np.intp)
    gx = np.clip(np.floor(xy[:, 0] / output_stride + 0.5), 0, width - 1).astype(np.intp)
    return gy, gx


def traverse(edge: int, source_xy: np.ndarray, target: int, heatmap: np.ndarray,
             offsets: np.ndarray, displacements: np.ndarray, output_stride: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """tfjs ``traverseToTargetKeypoint`` for n sources: (target xy (n, 2), target scores (n,))."""
    _, height, width = heatmap.shape
    num_edges = displacements.shape[0] // 2
    gy, gx = nearest_cell(source_xy, output_stride, height, width)
    xy = np.empty_like(source_xy)
    xy[:, 0] = source_xy[:, 0] + displacements[num_edges + edge, gy, gx]
    xy[:, 1] = source_xy[:, 1] + displacements[edge, gy, gx]
    for _ in range(OFFSET_REFINE_STEPS):
        gy, gx = nearest_cell(xy, output_stride, height, width)
        xy[:, 0] = gx * output_stride + offsets[NUM_KEYPOINTS + target, gy, gx].astype(np.float64)
        xy[:, 1] = gy * output_stride + offsets[target, gy, gx].astype(np.float64)
    gy, gx = nearest_cell(xy, output_stride, height, width)
    return xy, heatmap[target, gy, gx].astype(np.float64)


def decode_poses(root_parts: np.ndarray, root_xy: np.ndarray, root_scores: np.ndarray,
                 heatmap: np.ndarray, offsets: np.ndarray, displacements_fwd: np.ndarray,
                 displacements_bwd: np.ndarray, output_stride: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Full keypoints for each root: positions (n, 17, 2) and scores (n, 17)."""
    n = root_parts.size
    rows = np.arange(n)
    xy = np.zeros((n, NUM_KEYPOINTS, 2))
    scores = np.zeros((n, NUM_KEYPOINTS))
    known = np.zeros((n, NUM_KEYPOINTS), bool)
    xy[rows, root_parts] = root_xy
    scores[rows, root_parts] = root_scores
    known[rows, root_parts] = True
    hops = [(e, CHILDREN[e], PARENTS[e], displacements_bwd) for e in range(len(POSE_CHAIN) - 1, -1, -1)]
    hops += [(e, PARENTS[e], CHILDREN[e], displacements_fwd) for e in range(len(POSE_CHAIN))]
    for edge, source, target, displacements in hops:
        todo = np.flatnonzero(known[:, source] & ~known[:, target])
        if todo.size == 0:
            continue
        xy[todo, target], scores[todo, target] = traverse(
            edge, xy[todo, source], target, heatmap, offsets, displacements, output_stride)
        known[todo, target] = True
    return xy, scores
