"""One progress line for the whole fleet: bags and frames done, frames/s, ETA, failures."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class FleetProgress:
    """Redrawn in place on a terminal; a plain line every ``line_interval_s`` otherwise."""

    def __init__(self, bags: int, frames: int, stream: TextIO | None = None,
                 tty: bool | None = None, line_interval_s: float = 10.0) -> None:
        self.bags, self.frames = bags, frames
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._interval = 0.5 if self.tty else line_interval_s
        self._start = time.monotonic()
        self._last = -float("inf")
        self.bags_done = self.failed = self.frames_done = 0
        self._shown = False

    def update(self, bags_done: int, failed: int, frames_done: int, force: bool = False) -> None:
        self.bags_done, self.failed, self.frames_done = bags_done, failed, frames_done
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self.stream.write(("\r" if self.tty else "") + self.line(now)
                              + ("\x1b[K" if self.tty else "\n"))
            self.stream.flush()
            self._shown = True

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self._start, 1e-9)
        rate = self.frames_done / elapsed
        eta = ""
        if self.frames and rate > 0 and self.frames_done < self.frames:
            left = int((self.frames - self.frames_done) / rate)
            eta = f", ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
        return (f"fleet: {self.bags_done}/{self.bags} bags, {self.frames_done}/{self.frames} "
                f"frames, {rate:.1f} frames/s{eta}, {self.failed} failed")

    def close(self) -> None:
        if self._shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
