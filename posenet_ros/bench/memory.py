"""Steady-state memory: resident set size over many frames, to catch growth (leaks, caches)."""
from __future__ import annotations

import logging

import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.estimator import PoseEstimator

log = logging.getLogger(__name__)


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def soak(config: EstimatorConfig, frames: list[np.ndarray], count: int, samples: int = 10) -> dict:
    """Run ``count`` frames (cycling ``frames``) and record the process RSS.

    RSS after warm-up, at ``samples`` points, and its growth. The estimator's footprint is the
    RSS it adds once warmed up: what one more camera stream costs in a process that already
    has ONNX Runtime loaded.
    """
    before = rss_mib()
    estimator = PoseEstimator(config)
    for frame in frames[:5]:
        estimator.estimate(frame).poses
    series = [rss_mib()]
    every = max(1, count // samples)
    for i in range(count):
        estimator.estimate(frames[i % len(frames)]).poses
        if (i + 1) % every == 0:
            series.append(rss_mib())
    growth = series[-1] - series[0]
    footprint = series[0] - before
    print(f"soak: {count} frames, RSS {series[0]:.1f} -> {series[-1]:.1f} MiB "
          f"(growth {growth:+.1f} MiB); estimator footprint {footprint:.1f} MiB; "
          f"samples {', '.join(f'{s:.1f}' for s in series)}")
    return {"frames": count, "rss_mib": series, "growth_mib": growth,
            "estimator_footprint_mib": footprint}
