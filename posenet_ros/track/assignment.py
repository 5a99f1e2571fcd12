"""Optimal one-to-one matching of detections to tracks (Hungarian / Jonker-Volgenant).

A greedy matcher (pose-detection's Tracker.assignTracks) takes the best pair first and can
lose two good pairs to one: when two people cross, that is an id swap. ``linear_sum_assignment``
maximises the total similarity instead.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def assign(similarity: np.ndarray, min_similarity: float) -> list[tuple[int, int]]:
    """Return (detection, track) pairs maximising total similarity, each >= ``min_similarity``.

    ``similarity`` is (detections, tracks); pairs below the threshold are never matched.
    """
    if similarity.size == 0:
        return []
    allowed = similarity >= min_similarity
    if not allowed.any():
        return []
    # Forbidden pairs cost more than any sum of allowed ones, so they are chosen only
    # when nothing else is left, and then dropped.
    cost = np.where(allowed, 1.0 - similarity, float(similarity.size + 1))
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]
