"""Per-cause log throttling with counts of suppressed repeats."""
from __future__ import annotations

from posenet_ros.core.throttle import (
    cause_of, MAX_LINE, MAX_LINES, OTHER_CAUSES, shorten, Throttle)
import pytest


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_different_causes_and_streams_are_reported_at_once():
    clock = Clock()
    throttle = Throttle(5.0, clock)
    assert throttle.report("/cam1", "truncated", "a") == "a"
    clock.now += 0.5
    assert throttle.report("/cam1", "too large", "b") == "b"      # another cause
    assert throttle.report("/cam2", "truncated", "c") == "c"      # another stream
    assert throttle.report("/cam1", "truncated", "d") is None     # same key, within 5 s


def test_repeats_are_counted_and_told_on_the_next_report():
    clock = Clock()
    throttle = Throttle(5.0, clock)
    throttle.report("/cam", "truncated", "first")
    for _ in range(12):
        clock.now += 0.3
        assert throttle.report("/cam", "truncated", "again") is None
    assert throttle.pending() == {("/cam", "truncated"): 12}
    clock.now = 105.5
    assert throttle.report("/cam", "truncated", "later") == \
        "later (12 more like this in the last 6 s)"
    assert throttle.pending() == {}
    clock.now += 5.0
    assert throttle.report("/cam", "truncated", "quiet") == "quiet"   # nothing was held back


def test_keys_are_bounded():
    clock = Clock()
    throttle = Throttle(5.0, clock, max_keys=3)
    for i in range(10):
        assert throttle.report(f"/cam{i}", "x", "m") == "m"
    assert len(throttle._entries) == 3


def undecodable(encoding: str):
    """Make a sensor_msgs/Image's fields with ``encoding``; decoding it raises."""
    from types import SimpleNamespace
    return SimpleNamespace(height=4, width=4, encoding=encoding, is_bigendian=0, step=12,
                           data=bytes(48))


@pytest.mark.parametrize("derive", ["message", "cause_of"])
def test_distinct_10kb_encodings_per_frame_give_a_bounded_log(derive):
    """1000 frames at 30 Hz, each with its own 10 KB encoding: a few short lines, not 10 MB.

    ``message``: the cause is the error text (digits folded), as callers used to pass it;
    ``cause_of``: the kind of problem, as the module asks.
    """
    from posenet_ros.imaging.ros_image import decode, ImageDecodeError
    clock = Clock()
    throttle = Throttle(5.0, clock)
    logged = []
    for i in range(1000):
        clock.now += 1 / 30
        tag = "".join(chr(97 + i // 26**k % 26) for k in range(3))     # letters: distinct
        encoding = tag + "x" * 10_000
        with pytest.raises(ImageDecodeError) as err:
            decode(undecodable(encoding))
        cause = str(err.value) if derive == "message" else cause_of(err.value)
        line = throttle.report("/cam", cause, f"skipping frame on /cam: {err.value}")
        if line is not None:
            logged.append(line)
    seconds = 1000 / 30
    periods = int(seconds // 5) + 1
    assert len(logged) <= periods * (MAX_LINES + 1), len(logged)
    assert sum(map(len, logged)) <= len(logged) * (MAX_LINE + 80)
    assert "unsupported encoding" in logged[0]
    assert all(len(line) < MAX_LINE + 80 for line in logged)
    assert any("more like this" in line for line in logged)   # the rest are counted


def test_new_causes_beyond_the_budget_are_folded_and_counted():
    clock = Clock()
    throttle = Throttle(5.0, clock, max_lines=2)
    assert throttle.report("/cam", "a", "a") == "a"
    assert throttle.report("/cam", "b", "b") == "b"
    assert throttle.report("/cam", "c", "c") == "c"            # first of the folded ones
    assert throttle.report("/cam", "d", "d") is None           # folded with c
    assert throttle.report("/cam2", "d", "d") == "d"           # another stream's own budget
    assert throttle.pending() == {("/cam", OTHER_CAUSES): 1}
    clock.now += 5.0
    assert throttle.report("/cam", "e", "e") == "e"            # a new period, a new budget
    assert throttle.report("/cam", "a", "a again") == "a again"


def test_shorten_escapes_and_says_the_length():
    text = "evil\n\x1b[2J" + "x" * 10_000_000
    out = shorten(text, 80)
    assert len(out) < 120 and "\n" not in out and "\x1b" not in out
    assert out.endswith(f"... ({len(text)} chars)")
    assert out.startswith(repr(text[:80])[:20])
    assert shorten("bgr8") == "'bgr8'"


def test_cause_of_is_the_kind_never_the_text():
    """Distinct encodings are one cause; different problems of one class stay apart."""
    from posenet_ros.imaging.ros_image import decode, ImageDecodeError
    causes = set()
    for encoding in ("x" * 10_000, "y\\'\"" * 3000, "it's", "rgb9"):
        with pytest.raises(ImageDecodeError) as err:
            decode(undecodable(encoding))
        causes.add(cause_of(err.value))
    assert len(causes) == 1 and len(causes.pop()) < 100
    odd = undecodable("yuv422")
    odd.width = 3
    with pytest.raises(ImageDecodeError) as err:
        decode(odd)
    assert cause_of(err.value) != cause_of(ImageDecodeError("unsupported encoding 'x' (1x1)"))
    tagged = ValueError("text")
    tagged.cause = "truncated"
    assert cause_of(tagged) == "truncated"
