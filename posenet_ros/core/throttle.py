"""Log throttling per (stream, cause), with a count of what was held back.

ROS's ``throttle_duration_sec`` throttles per call site: two different bad frames 0.5 s
apart show one line, and repeats vanish without a trace. :class:`Throttle` keys on
(stream, cause) instead, so each distinct problem is reported at once, and the next report
of the same one says how many were suppressed since ("... (12 more like this in the last
5 s)"). ROS-free, and takes the clock as an argument so tests need no sleeping.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
import time

DEFAULT_PERIOD_S = 5.0


@dataclass
class _Entry:
    last: float          # when this key was last reported
    suppressed: int = 0  # held back since


class Throttle:
    """Decide which messages to log: the first per key, then at most one per ``period``."""

    def __init__(self, period: float = DEFAULT_PERIOD_S,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 1024) -> None:
        self.period = period
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._max_keys = max_keys

    def report(self, stream: str, cause: str, message: str) -> str | None:
        """Return the line to log for this (stream, cause), or None while it is throttled.

        The returned line is ``message``, plus the count of suppressed repeats when any.
        """
        now = self._clock()
        key = (stream, cause)
        entry = self._entries.get(key)
        if entry is not None and now - entry.last < self.period:
            entry.suppressed += 1
            return None
        suppressed = entry.suppressed if entry is not None else 0
        if entry is None and len(self._entries) >= self._max_keys:   # bounded: drop the oldest
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = _Entry(now)
        if suppressed:
            window = now - entry.last
            return f"{message} ({suppressed} more like this in the last {window:.0f} s)"
        return message

    def pending(self) -> dict[tuple[str, str], int]:
        """Return the suppressed counts not yet reported, by (stream, cause)."""
        return {k: e.suppressed for k, e in self._entries.items() if e.suppressed}
