"""The dequeue order of tfjs-models' ``MaxHeap``, for candidates with equal scores.

A binary heap is not a stable sort: among equal scores the order depends on how elements were
swum and sunk. Reproducing it keeps multi-pose results identical to TF.js even when sigmoid
scores saturate to exactly 1.0. Only used when ties exist (sorting handles the rest).
"""
from __future__ import annotations

import numpy as np


def heap_order(values: np.ndarray) -> np.ndarray:
    """Return indices of ``values`` (given in enqueue order) in tfjs's MaxHeap dequeue order."""
    vals = values.tolist()
    heap: list[int] = []
    for i in range(len(vals)):                     # enqueue + swim
        heap.append(i)
        k = len(heap) - 1
        while k > 0 and vals[heap[k // 2]] < vals[heap[k]]:
            heap[k], heap[k // 2] = heap[k // 2], heap[k]
            k //= 2
    order = []
    n = len(heap) - 1                              # tfjs numberOfElements
    while n >= 0:                                  # dequeue: exchange(0, n--), sink(0)
        order.append(heap[0])
        heap[0], heap[n] = heap[n], heap[0]
        n -= 1
        k = 0
        while 2 * k <= n:
            j = 2 * k
            if j < n and vals[heap[j]] < vals[heap[j + 1]]:
                j += 1
            if not vals[heap[k]] < vals[heap[j]]:
                break
            heap[k], heap[j] = heap[j], heap[k]
            k = j
    return np.asarray(order, dtype=np.int64)
