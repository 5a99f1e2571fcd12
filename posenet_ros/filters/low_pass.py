"""Exponential low-pass filter: a port of pose-detection 2.1.3 ``low_pass_filter.ts``.

That file ports MediaPipe's ``util/filtering/low_pass_filter.cc``; the arithmetic, including
the optional asinh outlier cap, is kept operation for operation so results match TF.js bit
for bit in double precision.
"""
from __future__ import annotations

import math


class LowPassFilter:
    """Blend each new value with the previous output: ``out = prev + alpha * (value - prev)``.

    The first value passes through unchanged. With a ``threshold`` the step is capped softly:
    ``prev + alpha * threshold * asinh((value - prev) / threshold)`` (about linear for small
    steps, logarithmic for outliers).
    """

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self._initialized = False
        self._raw_value = 0.0
        self._stored_value = 0.0

    def apply(self, value: float, threshold: float | None = None) -> float:
        """Filter ``value`` and return the output."""
        if self._initialized:
            if threshold is None:
                result = self._stored_value + self.alpha * (value - self._stored_value)
            else:
                result = self._stored_value + self.alpha * threshold * math.asinh(
                    (value - self._stored_value) / threshold)
        else:
            result = value
            self._initialized = True
        self._raw_value = value
        self._stored_value = result
        return result

    def apply_with_alpha(self, value: float, alpha: float,
                         threshold: float | None = None) -> float:
        """Set ``alpha`` (kept for later calls, as in TF.js), then :meth:`apply`."""
        self.alpha = alpha
        return self.apply(value, threshold)

    def has_last_raw_value(self) -> bool:
        """Whether a value has been filtered since construction or :meth:`reset`."""
        return self._initialized

    def last_raw_value(self) -> float:
        """Return the last unfiltered input."""
        return self._raw_value

    def reset(self) -> None:
        """Forget the history: the next value passes through."""
        self._initialized = False
