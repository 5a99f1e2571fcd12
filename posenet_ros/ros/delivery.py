"""Are a stream's frames arriving? Frames lost before the subscription callback, made visible.

DDS drops frames silently: with Fast DDS's defaults a best-effort sample over ~512 KB (a
640x480 bgr8 Image is 921,600 bytes) is mostly lost between processes, and a reader whose
history is full drops the oldest sample. The node only ever sees the frames that survive,
so this module counts what the middleware reports lost (``transport_lost()``, from the
subscription's message-lost event: Fast DDS reports the samples of a best-effort writer that
never arrived whole) and infers the rest from what it does see, per stream:

* a publisher is matched but no frame arrived for ``silence_timeout`` seconds;
* gaps in the header stamps: the camera's period is the median of its recent stamp
  intervals (among the short ones, so heavy loss does not stretch it), and an interval of k
  periods means k - 1 frames missing;
* the input rate fell well below the highest rate seen in the last ``rate_memory`` seconds;
* large best-effort frames trickle in (under ``trickle_hz``) before the stamps say enough:
  one frame in fifty takes 15 s to give the period, and Fast DDS's defaults do exactly that.

:meth:`DeliveryMonitor.check` turns that into counters and at most one warning, worded
with the fix. Sources are told apart by ``header.frame_id`` (two cameras on one topic); the
:data:`MAX_SOURCES` most recently seen are kept (those with a known period are forgotten
last), so a publisher that changes frame_id every frame costs bounded memory and cannot
push a real camera out (each new id starts without a period, so it counts no gaps).
ROS-free: stamps and clocks are plain seconds.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import statistics
import threading

# Fast DDS's default shared-memory segment: best-effort samples above it are lost in transport.
LARGE_SAMPLE_BYTES = 512 * 1024
# No camera streams faster than 200 Hz: shorter stamp intervals are a publisher catching up.
MIN_PERIOD = 0.005
PROFILE = "config/fastdds_large_frames.xml"   # under the package's share directory
# frame_ids (cameras) tracked per topic; the least recently seen is forgotten beyond it.
MAX_SOURCES = 16
MAX_SOURCE_CHARS = 256   # of a frame_id, as the key of its source


@dataclass(frozen=True)
class DeliverySettings:
    """Thresholds of the loss detection (seconds and fractions)."""

    silence_timeout: float = 5.0   # matched publisher, no frame for this long: warn
    window: float = 5.0            # loss and rate are judged over this many seconds
    min_intervals: int = 8         # stamp intervals needed before a period is trusted
    max_loss: float = 0.2          # warn above this fraction of frames missing in a window
    min_rate: float = 0.5          # warn below this fraction of the recent peak input rate
    rate_memory: float = 30.0      # the peak rate is that of the last this-many seconds
    repeat: float = 60.0           # a standing warning is announced again after this long
    trickle_hz: float = 5.0        # large best-effort frames slower than this, period unknown
    trickle_after: float = 3.0     # ... judged after this long with a publisher matched


@dataclass(frozen=True)
class DeliveryReport:
    """One check of a stream: totals, the last window's rates, and the warning if any."""

    received: int            # frames that reached the callback, since the start
    lost: int                # frames missing from the stamp sequence, since the start
    transport_lost: int      # frames the middleware reported lost, since the start
    window_received: int
    window_lost: int         # the larger of the stamp gaps and the middleware's count
    rate_hz: float           # frames received per second over the last window
    expected_hz: float       # the publishers' rate from their stamps (0: not known yet)
    publishers: int
    warning: str | None      # None: delivery looks fine
    announce: bool           # log the warning now (it is new, changed, or due again)

    def values(self) -> dict[str, str]:
        """Diagnostic key/values."""
        return {"frames_lost_in_transport": str(self.lost),
                "frames_lost_reported_by_dds": str(self.transport_lost),
                "input_rate_hz": f"{self.rate_hz:.2f}",
                "expected_input_rate_hz": f"{self.expected_hz:.2f}",
                "publishers": str(self.publishers),
                "lost_last_window": str(self.window_lost)}


@dataclass
class _Source:
    """The frames of one frame_id: recent stamp intervals, gaps counted in periods."""

    last_stamp: float
    intervals: deque = field(default_factory=lambda: deque(maxlen=60))
    owed: int = 0          # frames counted missing that a burst may still bring
    judged: bool = False   # the gaps before the period was known have been counted
    _cached: float = 0.0   # the last period estimate, and frames since
    _age: int = 0

    def missing(self, interval: float, period: float) -> int:
        """Frames missing in a stamp ``interval``: -1 when a frame counted missing came late."""
        if interval > 1.5 * period:
            gap = round(interval / period) - 1
            self.owed += gap
            return gap
        if interval < 0.5 * period and self.owed > 0:
            # A frame stamped late and sent back to back after a stall: one of the frames
            # the gap before it was counted missing arrived after all.
            self.owed -= 1
            return -1
        return 0

    def period(self, min_intervals: int) -> float:
        """Estimate the camera's period from the recent stamp intervals (0: not yet known).

        Lost frames make intervals whole multiples of the period; a publisher that stamps at
        publish time also bursts after a stall (intervals of milliseconds). So the period is
        the shortest observed interval that most intervals are whole multiples of (within a
        quarter period): a burst's interval is not, and neither is twice the period when
        single ones occur, and it must itself occur (a tenth of the intervals, at least 3).
        Under very heavy loss no interval qualifies and the shortest one is taken, as the
        short end of the distribution still holds single periods. Cached for a few frames:
        intervals change slowly.
        """
        if len(self.intervals) < min_intervals:
            return 0.0
        self._age += 1
        if self._cached and self._age < 8:
            return self._cached
        ordered = sorted(dt for dt in self.intervals if dt >= MIN_PERIOD)
        if not ordered:
            return 0.0
        need = max(3, len(ordered) // 10)
        for candidate in ordered:
            near = [dt for dt in ordered if abs(dt / candidate - 1) <= 0.25]
            if len(near) < need:        # seen too rarely to be the camera's own period
                continue
            fits = sum(1 for dt in ordered
                       if abs(dt / candidate - max(1, round(dt / candidate))) <= 0.25)
            if fits >= 0.8 * len(ordered):
                self._cached, self._age = statistics.median(near), 0
                return self._cached
        return self._cached or ordered[0]


class DeliveryMonitor:
    """Counts what one stream receives and infers what it did not.

    ``frame()`` from the subscription callback, ``check()`` once a second; both are cheap
    and thread-safe.
    """

    def __init__(self, topic: str, reliable: bool, settings: DeliverySettings | None = None,
                 profile: str = PROFILE) -> None:
        self.topic = topic
        self._reliable = reliable
        self._settings = settings or DeliverySettings()
        self._profile = profile
        self._lock = threading.Lock()
        self._sources: dict[str, _Source] = {}
        self._events: deque = deque()     # (receive time, frames lost just before it)
        self._reported: deque = deque()   # (time, frames the middleware reported lost)
        self._transport_lost = 0
        self._rates: deque = deque()      # (check time, window rate)
        self._received = self._lost = 0
        self._size = 0
        self._last_received: float | None = None
        self._publishers_since: float | None = None
        self._announced: dict[str, float] = {}   # kind -> when it was last logged

    def frame(self, stamp: float, received: float, size_bytes: int,
              source: str = "") -> None:
        """Record a frame with header stamp ``stamp`` that arrived at ``received``."""
        with self._lock:
            self._received += 1
            self._last_received = received
            self._size = size_bytes
            missing = 0
            source = source[:MAX_SOURCE_CHARS]
            known = self._sources.pop(source, None)    # re-inserted: most recent last
            if known is None or stamp <= known.last_stamp - 1.0:   # new, or the clock restarted
                if len(self._sources) >= MAX_SOURCES:
                    self._forget_one()
                self._sources[source] = _Source(stamp)
            else:
                self._sources[source] = known
            if known is not None and stamp > known.last_stamp:
                dt = stamp - known.last_stamp
                period = known.period(self._settings.min_intervals)
                if period > 0 and not known.judged:
                    # The first intervals count too, once the period is known: under heavy
                    # loss, waiting for it would otherwise hold the warning back by seconds.
                    known.judged = True
                    missing = sum(known.missing(gap, period) for gap in known.intervals)
                if period > 0:
                    missing += known.missing(dt, period)
                known.intervals.append(dt)
                known.last_stamp = stamp
            self._lost += missing
            self._events.append((received, missing))

    def _forget_one(self) -> None:
        """Drop the least recently seen source, sparing those whose period is known.

        A stream of one-off frame_ids then cannot push a real camera out.
        """
        need = self._settings.min_intervals
        victim = next((name for name, src in self._sources.items()
                       if len(src.intervals) < need), next(iter(self._sources)))
        del self._sources[victim]

    def transport_lost(self, count: int, now: float) -> None:
        """Record ``count`` frames the middleware reported lost at ``now`` (message-lost event)."""
        with self._lock:
            self._transport_lost += count
            self._reported.append((now, count))

    def check(self, now: float, publishers: int) -> DeliveryReport:
        """Judge the last window at ``now`` with ``publishers`` matched publishers."""
        s = self._settings
        with self._lock:
            while self._events and self._events[0][0] < now - s.window:
                self._events.popleft()
            window_received = len(self._events)
            window_lost = max(0, sum(missing for _, missing in self._events))
            while self._reported and self._reported[0][0] < now - s.window:
                self._reported.popleft()
            window_reported = sum(count for _, count in self._reported)
            rate = window_received / s.window
            self._rates.append((now, rate))
            while self._rates[0][0] < now - s.rate_memory:
                self._rates.popleft()
            peak = max(r for _, r in self._rates)
            periods = [p for p in (src.period(s.min_intervals) for src in self._sources.values())
                       if p > 0]
            expected = sum(1.0 / p for p in periods)
            if publishers == 0:
                self._publishers_since = None
            elif self._publishers_since is None:
                self._publishers_since = now
            kind, warning = self._judge(now, publishers, window_received, window_lost,
                                        window_reported, rate, peak, expected)
            # Each cause is logged once per ``repeat``, however the warnings flap; a trickle
            # found by its rate, then by its stamp gaps, is one cause.
            same = "gaps" if kind == "trickle" else kind
            announce = kind is not None and now - self._announced.get(same, -s.repeat) >= s.repeat
            if announce:
                self._announced[same] = now
            return DeliveryReport(self._received, self._lost, self._transport_lost,
                                  window_received, max(window_lost, window_reported), rate,
                                  expected, publishers, warning, announce)

    def _judge(self, now: float, publishers: int, received: int, lost: int, reported: int,
               rate: float, peak: float, expected: float) -> tuple[str | None, str | None]:
        """(kind, text) of the warning that applies now; (None, None) when all is well."""
        s = self._settings
        if reported and reported > s.max_loss * (received + reported):
            # The middleware's own count: exact, and there before any frame gets through.
            return "gaps", (f"{reported} of {received + reported} frames on {self.topic} lost "
                            f"in transport in the last {s.window:.0f} s (reported by the "
                            f"middleware): {self._fix(silent=not self._size)}")
        if publishers and self._publishers_since is not None:
            since = max(self._publishers_since, self._last_received or self._publishers_since)
            if now - since >= s.silence_timeout:
                what = "no frame arrived" if self._last_received is None else "no frame"
                return "silent", (f"{publishers} publisher(s) on {self.topic} but {what} for "
                                  f"{now - since:.0f} s: {self._fix(silent=True)}")
        if received + lost and lost > s.max_loss * (received + lost):
            return "gaps", (f"{lost} of {received + lost} frames on {self.topic} lost before "
                            f"reaching the node in the last {s.window:.0f} s (gaps in header "
                            f"stamps, camera at {expected:.1f} Hz): {self._fix(silent=False)}")
        watched = now - (self._publishers_since or now)
        large_best_effort = not self._reliable and self._size > LARGE_SAMPLE_BYTES
        if (large_best_effort and publishers and not expected and received
                and watched >= s.trickle_after
                and received / min(s.window, watched) < s.trickle_hz):
            arriving = received / min(s.window, watched)
            return "trickle", (f"only {arriving:.1f} frames/s arrive on {self.topic}: unless "
                               f"the camera is that slow, {self._fix(silent=False)}")
        # Below 10 frames a window, a halved count is noise, not a falling rate.
        if (publishers and peak * s.window >= 10 and rate < s.min_rate * peak
                and watched >= s.window):
            return "rate", (f"input rate on {self.topic} fell to {rate:.1f} Hz from "
                            f"{peak:.1f} Hz within {s.rate_memory:.0f} s: the camera slowed "
                            "down or its frames are being lost")
        return None, None

    def _fix(self, silent: bool) -> str:
        size = f"frames of {self._size} bytes" if self._size else "frames"
        if not self._reliable and (self._size > LARGE_SAMPLE_BYTES or silent):
            return (f"{size} from a best-effort publisher are being lost in transport (Fast DDS "
                    "defaults lose samples over 512 KB between processes): set "
                    "qos_reliability:=reliable, use image_transport:=compressed, or start the "
                    f"camera driver with FASTDDS_DEFAULT_PROFILES_FILE=<posenet_ros share>/"
                    f"{self._profile}")
        if self._reliable and silent:
            return ("the publisher may offer only best effort (then the reliable subscription "
                    "never matches data) or its frames are too large for the transport: try "
                    "qos_reliability:=best_effort, image_transport:=compressed, or the camera "
                    f"driver with FASTDDS_DEFAULT_PROFILES_FILE=<posenet_ros share>/"
                    f"{self._profile}")
        return ("the camera skips frames, the network drops them, or this node's executor falls "
                "behind: check the camera's own rate, use image_transport:=compressed, or raise "
                "qos_depth")
