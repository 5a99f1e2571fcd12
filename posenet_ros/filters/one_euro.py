"""One Euro filter: a port of pose-detection 2.1.3 ``one_euro_filter.ts``.

That file ports MediaPipe's ``util/filtering/one_euro_filter.cc`` (Casiez et al., CHI 2012).
Timestamps are integer microseconds (truncated, as ``Math.trunc`` does); the sampling
frequency is re-estimated from each pair of stamps; a stamp that is not after the previous
one returns the value unfiltered and leaves the state alone (TF.js: "results are
unpredictable"). Quirk kept from TF.js: a stamp of exactly 0 never updates the frequency
estimate, and a first stamp of 0 is treated as "not after" the initial 0 and passes through.
"""
from __future__ import annotations

from dataclasses import dataclass
import math

from posenet_ros.filters.low_pass import LowPassFilter

MICRO_SECONDS_TO_SECOND = 1e-6   # pose-detection shared/calculators/constants.ts
SECOND_TO_MICRO_SECONDS = 1e6


class FilterConfigError(ValueError):
    """A filter setting is out of range; the message names it."""


@dataclass(frozen=True)
class OneEuroFilterConfig:
    """``OneEuroFilterConfig`` of pose-detection (``config_interfaces.ts``), validated.

    ``frequency`` (Hz) is used only until two stamps give an estimate. ``min_cutoff`` (Hz) sets
    the smoothing at rest, ``beta`` how fast the cutoff rises with speed, ``derivate_cutoff``
    (Hz) smooths the speed estimate. ``threshold_cutoff``/``threshold_beta``, when set, cap
    outliers (see :class:`LowPassFilter`). ``min_allowed_object_scale``: below it keypoint
    smoothing is skipped; ``disable_value_scaling``: speeds are not divided by the object
    scale. Defaults are the original 1 Euro paper's (``minCutOff`` 1 Hz, ``beta`` 0,
    ``dCutOff`` 1 Hz); :data:`MOVENET_KEYPOINT_FILTER` is MoveNet's.
    """

    frequency: float = 30.0
    min_cutoff: float = 1.0
    beta: float = 0.0
    derivate_cutoff: float = 1.0
    threshold_cutoff: float | None = None
    threshold_beta: float = 0.0
    min_allowed_object_scale: float | None = None
    disable_value_scaling: bool = False

    def __post_init__(self) -> None:
        for name in ("frequency", "min_cutoff", "derivate_cutoff"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise FilterConfigError(f"{name} must be a finite number > 0, got {value}")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            raise FilterConfigError(f"beta must be a finite number >= 0, got {self.beta}")
        if self.threshold_cutoff is not None and not (
                math.isfinite(self.threshold_cutoff) and self.threshold_cutoff > 0):
            raise FilterConfigError(
                f"threshold_cutoff must be None or > 0, got {self.threshold_cutoff}")
        if not (math.isfinite(self.threshold_beta) and self.threshold_beta >= 0):
            raise FilterConfigError(f"threshold_beta must be >= 0, got {self.threshold_beta}")


# pose-detection 2.1.3 ``movenet/constants.ts`` KEYPOINT_FILTER_CONFIG: MoveNet smooths
# normalised [0, 1] image coordinates with these, object scale 1.
MOVENET_KEYPOINT_FILTER = OneEuroFilterConfig(
    frequency=30.0, min_cutoff=2.5, beta=300.0, derivate_cutoff=2.5,
    threshold_cutoff=0.5, threshold_beta=5.0, disable_value_scaling=True)


def get_alpha(frequency: float, cutoff: float) -> float:
    """Smoothing factor of a first-order low-pass at ``cutoff`` Hz sampled at ``frequency``."""
    return 1.0 / (1.0 + (frequency / (2 * math.pi * cutoff)))


class OneEuroFilter:
    """One scalar One Euro filter (``OneEuroFilter`` of pose-detection)."""

    def __init__(self, config: OneEuroFilterConfig) -> None:
        self.config = config
        self._frequency = config.frequency
        self._x = LowPassFilter(get_alpha(self._frequency, config.min_cutoff))
        self._dx = LowPassFilter(get_alpha(self._frequency, config.derivate_cutoff))
        self._last_timestamp = 0

    def apply(self, value: float | None, micro_seconds: float,
              value_scale: float = 1.0) -> float | None:
        """Filter ``value`` seen at ``micro_seconds``; speeds are multiplied by ``value_scale``."""
        if value is None:
            return value
        stamp = math.trunc(micro_seconds)
        if self._last_timestamp >= stamp:
            return value
        if self._last_timestamp != 0 and stamp != 0:
            self._frequency = 1 / ((stamp - self._last_timestamp) * MICRO_SECONDS_TO_SECOND)
        self._last_timestamp = stamp
        config = self.config
        d_value = ((value - self._x.last_raw_value()) * value_scale * self._frequency
                   if self._x.has_last_raw_value() else 0)
        ed_value = self._dx.apply_with_alpha(
            d_value, get_alpha(self._frequency, config.derivate_cutoff))
        cutoff = config.min_cutoff + config.beta * abs(ed_value)
        threshold = (config.threshold_cutoff + config.threshold_beta * abs(ed_value)
                     if config.threshold_cutoff is not None else None)
        return self._x.apply_with_alpha(value, get_alpha(self._frequency, cutoff), threshold)
