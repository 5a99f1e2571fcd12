"""What a colour frame gets from its depth stream, whoever paired it (node or bag tool)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posenet_ros.camera.intrinsics import CameraModel

#: Every outcome of pairing a colour frame with depth, as counted in diagnostics and summaries.
STATUSES = ("paired", "unmatched", "refused", "no_camera_info")
MAX_EXAMPLES = 20            # reasons kept per stream for a summary


@dataclass(frozen=True, eq=False)
class DepthSample:
    """One of :data:`STATUSES`, and the depth and cameras when ``paired``."""

    status: str
    depth: np.ndarray | None = None          # metres, NaN: no reading
    camera: CameraModel | None = None        # colour CameraInfo (K, D)
    depth_camera: CameraModel | None = None  # depth CameraInfo, when it has its own
    reason: str | None = None                # why refused / no camera
