"""Optimal one-to-one matching of detections to tracks (Hungarian / Jonker-Volgenant).

A greedy matcher (pose-detection's Tracker.assignTracks) takes the best pair first and can
lose two good pairs to one: when two people cross, that is an id swap. ``linear_sum_assignment``
maximises the total similarity instead.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

_NONE = np.zeros(0, dtype=np.int64)


def assign(similarity: np.ndarray, min_similarity: float) -> list[tuple[int, int]]:
    """Return (detection, track) pairs maximising total similarity, each >= ``min_similarity``.

    ``similarity`` is (detections, tracks); pairs below the threshold are never matched.
    """
    rows, cols = assign_arrays(similarity, min_similarity)
    return list(zip(rows.tolist(), cols.tolist()))


def assign_arrays(similarity: np.ndarray, min_similarity: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`assign` as two index arrays (detections, tracks), for the tracker's hot path."""
    if similarity.size == 0:
        return _NONE, _NONE
    allowed = similarity >= min_similarity
    if not allowed.any():
        return _NONE, _NONE
    # Forbidden pairs cost more than any sum of allowed ones, so they are chosen only
    # when nothing else is left, and then dropped.
    cost = np.where(allowed, 1.0 - similarity, float(similarity.size + 1))
    rows, cols = linear_sum_assignment(cost)
    keep = allowed[rows, cols]
    return rows[keep], cols[keep]
