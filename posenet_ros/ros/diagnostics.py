"""Counters and timings of the pose node, summarised once a second on ``/diagnostics``.

Totals (frames received, processed, dropped, bad, annotated images drawn, engine runs) grow
for the node's life, also per camera stream; rates, mean timings and the mean batch size
(frames per engine run) cover the last reporting window only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
import threading

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from posenet_ros.core.result import StageTimes


@dataclass(frozen=True)
class FrameTimes:
    """Seconds one frame spent in each step of the node, and its engine stages."""

    queue_wait: float       # subscription callback to the worker taking it
    decode_image: float     # message to RGB
    engine: float           # the engine call for the batch the frame ran in
    build: float            # the PoseArray
    publish: float          # sending it
    latency: float          # callback to PoseArray sent
    stamp_latency: float    # PoseArray sent minus the image's stamp (camera and DDS included)
    stages: StageTimes      # the engine's preprocess, inference and decode of that batch

    def as_dict(self) -> dict[str, float]:
        """Every timing by name; node_overhead is the frame's decode, build and publish."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "stages"}
        out.update({f.name: getattr(self.stages, f.name) for f in fields(self.stages)})
        out["node_overhead"] = self.decode_image + self.build + self.publish
        return out


TIMINGS = tuple(FrameTimes(*[0.0] * 7, StageTimes()).as_dict())


@dataclass
class _Window:
    processed: int = 0
    received: int = 0
    decode_errors: int = 0
    batches: int = 0
    batched_frames: int = 0
    streams_heard: set = field(default_factory=set)
    sums: dict = field(default_factory=lambda: dict.fromkeys(TIMINGS, 0.0))
    maxima: dict = field(default_factory=lambda: dict.fromkeys(TIMINGS, 0.0))


STREAM_COUNTERS = ("frames_received", "frames_processed", "frames_dropped", "decode_errors",
                   "depth_paired", "depth_unmatched", "depth_errors", "transform_missing")


class FrameStats:
    """Counters and per-window timings (seconds) of one node and its streams.

    Thread-safe: the subscription callbacks, the worker and the diagnostics timer share it.
    """

    def __init__(self, streams: Sequence[str] = ()) -> None:
        self._lock = threading.Lock()
        self.received = self.processed = self.dropped = 0
        self.decode_errors = self.estimation_errors = self.annotated_images = 0
        self.engine_runs = 0
        self.streams = {name: dict.fromkeys(STREAM_COUNTERS, 0) for name in streams}
        self._window = _Window()

    def _count(self, stream: str | None, counter: str, n: int = 1) -> None:
        if stream is not None:
            self.streams.setdefault(stream, dict.fromkeys(STREAM_COUNTERS, 0))[counter] += n

    def frame_received(self, replaced_pending: bool, stream: str | None = None) -> None:
        with self._lock:
            self.received += 1
            self._window.received += 1
            self.dropped += int(replaced_pending)
            self._window.streams_heard.add(stream)
            self._count(stream, "frames_received")
            self._count(stream, "frames_dropped", int(replaced_pending))

    def count(self, stream: str, counter: str) -> None:
        """Count one event of a per-stream counter (one of STREAM_COUNTERS)."""
        with self._lock:
            self._count(stream, counter)

    def decode_failed(self, stream: str | None = None) -> None:
        with self._lock:
            self.decode_errors += 1
            self._window.decode_errors += 1
            self._count(stream, "decode_errors")

    def batch_run(self, size: int) -> None:
        """Count one engine run over ``size`` frames."""
        with self._lock:
            self.engine_runs += 1
            self._window.batches += 1
            self._window.batched_frames += size

    def estimation_failed(self, frames: int = 1) -> None:
        with self._lock:
            self.estimation_errors += frames

    def annotated(self) -> None:
        with self._lock:
            self.annotated_images += 1

    def frame_processed(self, times: FrameTimes, stream: str | None = None) -> None:
        timings = times.as_dict()
        with self._lock:
            self.processed += 1
            self._count(stream, "frames_processed")
            window = self._window
            window.processed += 1
            for name, seconds in timings.items():
                window.sums[name] += seconds
                window.maxima[name] = max(window.maxima[name], seconds)

    def report(self, name: str, hardware_id: str, period: float, extra: dict[str, str],
               warnings: Sequence[str] = ()) -> DiagnosticStatus:
        """Summarise the window that ends now as a DiagnosticStatus, and start a new one.

        ``warnings`` (e.g. frames lost in transport) make the status WARN with their text.
        """
        with self._lock:
            window, self._window = self._window, _Window()
            totals = {"frames_received": self.received, "frames_processed": self.processed,
                      "frames_dropped": self.dropped, "decode_errors": self.decode_errors,
                      "estimation_errors": self.estimation_errors,
                      "annotated_images": self.annotated_images,
                      "engine_runs": self.engine_runs}
            for stream, counters in self.streams.items():
                totals.update({f"{stream} {key}": value for key, value in counters.items()})
            silent = [stream for stream in self.streams if stream not in window.streams_heard]
        values = {"rate_hz": f"{window.processed / period:.2f}",
                  "input_rate_hz": f"{window.received / period:.2f}",
                  "mean_batch_size": f"{window.batched_frames / max(window.batches, 1):.2f}"}
        for timing in TIMINGS:
            mean = window.sums[timing] / window.processed if window.processed else 0.0
            values[f"{timing}_ms"] = f"{mean * 1e3:.3f}"
            values[f"{timing}_max_ms"] = f"{window.maxima[timing] * 1e3:.3f}"
        values.update({key: str(value) for key, value in totals.items()})
        values.update(extra)
        if warnings:
            level, message = DiagnosticStatus.WARN, "; ".join(warnings)
        elif window.decode_errors:
            level, message = DiagnosticStatus.WARN, f"{window.decode_errors} undecodable frame(s)"
        elif not window.received:
            level, message = DiagnosticStatus.WARN, "no images received"
        elif silent:
            level, message = DiagnosticStatus.WARN, f"no images on {', '.join(silent)}"
        else:
            level, message = DiagnosticStatus.OK, (
                f"{values['rate_hz']} Hz, inference {values['inference_ms']} ms")
        return DiagnosticStatus(
            level=level, name=name, message=message, hardware_id=hardware_id,
            values=[KeyValue(key=key, value=value) for key, value in values.items()])
