"""Following the pose chain from a root part to the others, for many root candidates at once.

tfjs ``decodePose`` walks the 16 edges of the pose tree: first backwards (child -> parent, with
the backward displacements), then forwards (parent -> child, forward displacements), skipping
hops whose target is known. Which hops happen depends only on the root part: every root makes
exactly 16, tabulated per root part once. A hop needs nothing but its source's position, so
hops run level by level of the tree hanging from the root (at most 8 levels, usually 4-6)
rather than one by one: all candidates, and all hops of a level, in one vectorised step.
The result is the same as tfjs's sequential walk.
"""
from __future__ import annotations

import numpy as np

from posenet_ros.core.keypoints import NUM_EDGES, NUM_KEYPOINTS, POSE_CHAIN

OFFSET_REFINE_STEPS = 2
BACKWARD, FORWARD = 0, 1


def _hop_table() -> np.ndarray:
    """[root part, step] -> (direction, edge, source part, target part), in tfjs order."""
    table = np.zeros((NUM_KEYPOINTS, NUM_KEYPOINTS - 1, 4), np.intp)
    for root in range(NUM_KEYPOINTS):
        known = {root}
        hops = []
        for edge in range(NUM_EDGES - 1, -1, -1):
            parent, child = POSE_CHAIN[edge]
            if child in known and parent not in known:
                hops.append((BACKWARD, edge, child, parent))
                known.add(parent)
        for edge in range(NUM_EDGES):
            parent, child = POSE_CHAIN[edge]
            if parent in known and child not in known:
                hops.append((FORWARD, edge, parent, child))
                known.add(child)
        table[root] = hops
    return table


HOPS = _hop_table()
# Per hop, the (y, x) channel pairs it reads: displacements as [bwd; fwd] stacked (64 channels,
# y at direction * 32 + edge, x 16 further) and the target's offsets (y at part, x 17 further).
_DISP_CHANNELS = np.stack([HOPS[..., 0] * 2 * NUM_EDGES + HOPS[..., 1],
                           HOPS[..., 0] * 2 * NUM_EDGES + HOPS[..., 1] + NUM_EDGES], axis=-1)
_OFFSET_CHANNELS = np.stack([HOPS[..., 3], HOPS[..., 3] + NUM_KEYPOINTS], axis=-1)


def _hop_levels() -> np.ndarray:
    """[root part, step] -> depth of the hop's target below the root (1 = next to it)."""
    levels = np.zeros(HOPS.shape[:2], np.intp)
    for root in range(NUM_KEYPOINTS):
        depth = {root: 0}
        for step, (_, _, source, target) in enumerate(HOPS[root]):
            depth[int(target)] = depth[int(source)] + 1
            levels[root, step] = depth[int(target)]
    return levels


_LEVELS = _hop_levels()


def nearest_cell(yx: np.ndarray, output_stride: int, height: int, width: int) -> np.ndarray:
    """Grid cells (n, 2) as (y, x) nearest to pixel points (n, 2) given as (y, x), clamped.

    Halves round up like JS ``Math.round``. Truncating ``v + 0.5`` equals flooring it wherever
    the result survives the clamp at 0. (``np.clip`` is avoided: its Python-level wrapper costs
    more than the arithmetic here.)
    """
    cells = (yx * (1.0 / output_stride) + 0.5).astype(np.intp)
    np.minimum(cells, (height - 1, width - 1), out=cells)
    np.maximum(cells, 0, out=cells)
    return cells


def _traverse(disp_channels: np.ndarray, offset_channels: np.ndarray, target: np.ndarray,
              source_yx: np.ndarray, heatmap: np.ndarray, offsets: np.ndarray,
              displacements: np.ndarray, output_stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Run tfjs ``traverseToTargetKeypoint`` for n sources given as (y, x).

    ``disp_channels`` and ``offset_channels`` (n, 2) are each source's (y, x) channel pairs;
    ``target`` (n,) the target parts. Return target (y, x) (n, 2) and target scores (n,).
    """
    _, height, width = heatmap.shape
    cells = nearest_cell(source_yx, output_stride, height, width)
    yx = source_yx + displacements[disp_channels, cells[:, :1], cells[:, 1:]]
    for _ in range(OFFSET_REFINE_STEPS):
        cells = nearest_cell(yx, output_stride, height, width)
        yx = cells * output_stride + offsets[offset_channels, cells[:, :1], cells[:, 1:]].astype(
            np.float64)
    cells = nearest_cell(yx, output_stride, height, width)
    return yx, heatmap[target, cells[:, 0], cells[:, 1]].astype(np.float64)


def decode_poses(root_parts: np.ndarray, root_xy: np.ndarray, root_scores: np.ndarray,
                 heatmap: np.ndarray, offsets: np.ndarray, displacements_fwd: np.ndarray,
                 displacements_bwd: np.ndarray, output_stride: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Full keypoints for each root: positions (n, 17, 2) as (x, y) and scores (n, 17)."""
    n = root_parts.size
    rows = np.arange(n)
    yx = np.zeros((n, NUM_KEYPOINTS, 2))
    scores = np.zeros((n, NUM_KEYPOINTS))
    yx[rows, root_parts] = root_xy[:, ::-1]
    scores[rows, root_parts] = root_scores
    # Backward then forward channels in one array: candidate n reads y at direction * 32 + edge
    # and x 16 channels further (tabulated per root part in _DISP_CHANNELS).
    both = np.concatenate([displacements_bwd, displacements_fwd])
    hops, levels = HOPS[root_parts], _LEVELS[root_parts]        # (n, 16, 4), (n, 16)
    disp_channels, offset_channels = _DISP_CHANNELS[root_parts], _OFFSET_CHANNELS[root_parts]
    for level in range(1, int(levels.max()) + 1):
        who, step = np.nonzero(levels == level)                # every hop of this level
        source, target = hops[who, step, 2], hops[who, step, 3]
        yx[who, target], scores[who, target] = _traverse(
            disp_channels[who, step], offset_channels[who, step], target, yx[who, source],
            heatmap, offsets, both, output_stride)
    return yx[..., ::-1], scores
