"""Approximate-time pairing of colour and depth frames, without ever waiting for depth.

ROS's ``message_filters.ApproximateTimeSynchronizer`` would do this on a ROS install, but
message_filters is not available as a wheel, and it holds colour back until a depth frame
arrives (yolo_ros #61: 3D made the camera lag). Here colour is never held: depth frames
are buffered (a bounded number, newest kept), and each colour frame takes the depth frame
closest in stamp if it is within the tolerance, else ``None`` and it goes out in 2D.
"""
from __future__ import annotations

from collections import deque
from typing import Any

DEFAULT_TOLERANCE_S = 0.05   # half a frame at 15 fps; RGB-D drivers stamp both alike
DEFAULT_BUFFER = 8           # depth frames kept: ~0.25 s at 30 fps
RESET_S = 1.0                # a depth stamp this far back: time jumped, start over


class DepthPairer:
    """Buffers depth payloads by stamp (seconds) and hands the nearest one to a colour stamp.

    Depth frames older than a matched one are dropped: colour stamps only move forward on
    one stream, so they can never match again. A depth stamp more than ``RESET_S`` older
    than the newest (a bag looping) clears the buffer.
    """

    def __init__(self, tolerance_s: float = DEFAULT_TOLERANCE_S,
                 max_frames: int = DEFAULT_BUFFER) -> None:
        if not tolerance_s >= 0.0:
            raise ValueError(f"pairing tolerance {tolerance_s} s must be >= 0")
        if max_frames < 1:
            raise ValueError(f"depth buffer of {max_frames} frames must hold at least 1")
        self.tolerance_s = float(tolerance_s)
        self._frames: deque[tuple[float, Any]] = deque(maxlen=int(max_frames))

    def __len__(self) -> int:
        return len(self._frames)

    def add_depth(self, stamp: float, depth: Any) -> None:
        """Keep ``depth`` (any payload: a message or a decoded array) for colour to match."""
        if self._frames and stamp < self._frames[-1][0] - RESET_S:
            self._frames.clear()
        self._frames.append((float(stamp), depth))

    def match(self, stamp: float) -> Any | None:
        """Return the depth payload nearest to ``stamp`` within the tolerance, or None."""
        if not self._frames:
            return None
        best = min(range(len(self._frames)), key=lambda i: abs(self._frames[i][0] - stamp))
        depth_stamp, depth = self._frames[best]
        if abs(depth_stamp - stamp) > self.tolerance_s:
            return None
        for _ in range(best):
            self._frames.popleft()
        return depth
