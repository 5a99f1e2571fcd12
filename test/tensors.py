"""Tiny hand-built model outputs for decoder tests.

A module, not conftest: test/ros has one too.
"""
import numpy as np
from posenet_ros.core.keypoints import NUM_EDGES, NUM_KEYPOINTS


def blank_outputs(height=5, width=5, parts=NUM_KEYPOINTS, edges=NUM_EDGES, fill=-10.0):
    """Tiny hand-built model outputs: heatmap scores near zero, zero offsets/displacements."""
    heat = np.full((parts, height, width), 1 / (1 + np.exp(-fill)), np.float32)
    return (heat, np.zeros((2 * parts, height, width), np.float32),
            np.zeros((2 * edges, height, width), np.float32),
            np.zeros((2 * edges, height, width), np.float32))
