"""The newest pending frame of each camera stream, and batches of one image size.

Plain Python (no rclpy): the node's subscription callbacks put frames in, its worker thread
takes them out. Nothing queues: a frame that arrives before the worker took its stream's
previous one replaces it, so latency stays bounded by one batch when cameras outpace the
model, and every replacement is reported to the caller to be counted as a drop.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
import threading
from typing import Any

import numpy as np


@dataclass
class Frame:
    """A message taken from a stream's slot, then its decoded pixels."""

    stream: Hashable                  # the camera stream it came from
    msg: Any
    received: float                   # perf_counter() in the subscription callback
    stamp: float = 0.0                # the message's header stamp in seconds
    rgb: np.ndarray | None = None
    decode_seconds: float = 0.0


class Inbox:
    """The newest pending frame of each stream; the worker takes all of them at once.

    A frame that arrives before the worker took its stream's previous one replaces it (a
    drop), so nothing queues and latency stays bounded by one batch.
    """

    def __init__(self) -> None:
        self._pending: dict[Hashable, Frame] = {}   # insertion order: first come, first batched
        self._wakeup = threading.Condition()
        self._stopping = False

    def put(self, frame: Frame) -> bool:
        """Store ``frame`` as its stream's newest; True when it replaced a pending one."""
        with self._wakeup:
            replaced = frame.stream in self._pending
            self._pending[frame.stream] = frame
            self._wakeup.notify()
        return replaced

    def take_all(self) -> list[Frame] | None:
        """Wait for at least one frame and take every pending one; None once stopped."""
        with self._wakeup:
            while not self._pending and not self._stopping:
                self._wakeup.wait()
            if self._stopping:
                return None
            frames, self._pending = list(self._pending.values()), {}
        return frames

    def stop(self) -> None:
        """Make take_all() return None (pending frames are left unprocessed)."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()


def group_by_size(frames: Iterable[Frame]) -> list[list[Frame]]:
    """Split decoded frames into groups of one image size, in order of first appearance.

    Frames of one size map to one network input, so each group is one estimate_batch call.
    """
    groups: dict[tuple[int, ...], list[Frame]] = {}
    for frame in frames:
        groups.setdefault(frame.rgb.shape, []).append(frame)
    return list(groups.values())
