"""Progress of a long bag analysis.

A bar on a terminal; otherwise a plain line now and then, so logs and CI output stay readable.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    """Call :meth:`update` per frame and :meth:`close` at the end. ``total`` may be 0 (unknown)."""

    def __init__(self, total: int, stream: TextIO | None = None, label: str = "frames",
                 tty: bool | None = None, line_interval_s: float = 10.0) -> None:
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._interval = 0.1 if self.tty else line_interval_s
        self._start = self._last = time.monotonic()
        self._done = 0
        self._shown = False

    def update(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._show(now)

    def close(self) -> None:
        if self.tty and self._shown:
            self._show(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    def _show(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self._done / elapsed
        of_total = f"/{self.total}" if self.total else ""
        eta = ""
        if self.total and rate > 0 and self._done < self.total:
            left = int((self.total - self._done) / rate)
            eta = f"  ETA {left // 60}:{left % 60:02d}"
        if self.tty:
            fraction = min(self._done / self.total, 1.0) if self.total else 0.0
            filled = int(fraction * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {self._done}{of_total} {self.label} "
                              f"{rate:6.1f}/s{eta}\x1b[K")
        else:
            self.stream.write(f"{self._done}{of_total} {self.label}, {rate:.1f}/s{eta}\n")
        self.stream.flush()
        self._shown = True
