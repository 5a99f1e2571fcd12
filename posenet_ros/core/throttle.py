"""Log throttling per (stream, cause), with a count of what was held back; safe log text.

ROS's ``throttle_duration_sec`` throttles per call site: two different bad frames 0.5 s
apart show one line, and repeats vanish without a trace. :class:`Throttle` keys on
(stream, cause) instead, so each distinct problem is reported at once, and the next report
of the same one says how many were suppressed since ("... (12 more like this in the last
5 s)"). ROS-free, and takes the clock as an argument so tests need no sleeping.

The cause is the *kind* of problem (``"ImageDecodeError"``, ``"no camera_info"``), which
the caller derives (:func:`cause_of` for an exception), never text a sender controls: a
distinct encoding string per frame would otherwise be a new cause per frame, each logged.
As a second guard, a stream logs at most ``max_lines`` lines per period: beyond them,
every cause is folded into one, :data:`OTHER_CAUSES` (logged once a period, with its
count), and every line is cut to ``max_line`` characters. Text a sender controls goes into
a message through :func:`shorten`.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
import re
import time

DEFAULT_PERIOD_S = 5.0
MAX_LINE = 600          # characters of one throttled line; longer ones are shortened
MAX_LINES = 8           # lines one stream may log per period before its causes are folded
OTHER_CAUSES = "other causes"


def shorten(text: object, limit: int = 80) -> str:
    """``repr`` of ``text`` cut to about ``limit`` characters, with its full length at the end.

    For a value a sender controls (an encoding, a frame_id, a model path) in a log line:
    control characters and newlines are escaped, and a 10 MB string costs ``limit``
    characters plus ``"... (10485760 chars)"``.
    """
    if not isinstance(text, str):
        text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} chars)"


def cause_of(exc: BaseException) -> str:
    """Return the kind of problem ``exc`` is, as a throttle cause, free of a sender's text.

    Its ``cause`` attribute when it has one; else its class and the start of its message with
    quoted text (where messages put a sender's values, through ``!r`` or :func:`shorten`)
    and numbers blanked: "unsupported encoding 'x...' (8x8)" for every encoding, yet apart
    from "truncated JPEG: ...".
    """
    cause = getattr(exc, "cause", None)
    if isinstance(cause, str) and cause:
        return cause
    template = _NUMBERS.sub("#", _QUOTED.sub("_", str(exc)))
    return f"{type(exc).__qualname__}: {template[:CAUSE_CHARS]}"


_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|'[^']*$|"[^"]*$""")
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")
CAUSE_CHARS = 48        # of a message's template: past it, text may vary without a new cause


@dataclass
class _Entry:
    last: float          # when this key was last reported
    suppressed: int = 0  # held back since


class Throttle:
    """Decide which messages to log: the first per key, then at most one per ``period``."""

    def __init__(self, period: float = DEFAULT_PERIOD_S,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 1024,
                 max_lines: int = MAX_LINES, max_line: int = MAX_LINE) -> None:
        self.period = period
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._max_keys = max_keys
        self._max_lines = max_lines
        self._max_line = max_line
        self._lines: dict[str, list[float]] = {}   # stream -> when its recent lines were logged

    def report(self, stream: str, cause: str, message: str) -> str | None:
        """Return the line to log for this (stream, cause), or None while it is throttled.

        ``cause`` names the kind of problem (see the module doc; digits in it are ignored, as
        sizes and offsets vary per frame). The returned line is ``message``, shortened to
        ``max_line`` characters, plus the count of suppressed repeats when any.
        """
        now = self._clock()
        key = (stream, re.sub(r"\d+", "#", str(cause))[:200])
        entry = self._entries.get(key)
        if entry is not None and now - entry.last < self.period:
            entry.suppressed += 1
            return None
        if self._flooded(stream, now):     # this stream's line budget is spent: fold
            key = (stream, OTHER_CAUSES)
            entry = self._entries.get(key)
            if entry is not None and now - entry.last < self.period:
                entry.suppressed += 1
                return None
        self._spent(stream, now)
        suppressed = entry.suppressed if entry is not None else 0
        if entry is None and len(self._entries) >= self._max_keys:   # bounded: drop the oldest
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = _Entry(now)
        if len(message) > self._max_line:
            message = f"{message[:self._max_line]}... ({len(message)} chars)"
        if suppressed:
            window = now - entry.last
            return f"{message} ({suppressed} more like this in the last {window:.0f} s)"
        return message

    def _flooded(self, stream: str, now: float) -> bool:
        """Whether ``stream`` logged ``max_lines`` lines within the last period."""
        recent = [t for t in self._lines.get(stream, ()) if now - t < self.period]
        self._lines[stream] = recent
        return len(recent) >= self._max_lines

    def _spent(self, stream: str, now: float) -> None:
        if stream not in self._lines and len(self._lines) >= self._max_keys:
            self._lines.pop(next(iter(self._lines)))
        self._lines.setdefault(stream, []).append(now)

    def pending(self) -> dict[tuple[str, str], int]:
        """Return the suppressed counts not yet reported, by (stream, cause)."""
        return {k: e.suppressed for k, e in self._entries.items() if e.suppressed}
