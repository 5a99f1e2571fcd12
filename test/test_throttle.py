"""Per-cause log throttling with counts of suppressed repeats."""
from __future__ import annotations

from posenet_ros.core.throttle import Throttle


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
