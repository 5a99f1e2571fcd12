"""How many ONNX Runtime threads: per-frame latency by thread count, idle and beside other load.

``python -m posenet_ros.bench.threads`` times :class:`~posenet_ros.estimator.PoseEstimator`
(257 input, multi-pose, the sample video's frames) with each thread count in ``--threads``
under three conditions: the machine otherwise idle, two memory-bound processes beside it
(numpy copies of a 64 MB array in a loop, which compete for memory bandwidth and cache) and
two compute-bound ones (a Python busy loop, which competes for cores). The load processes
are this script's own: started before a condition's runs and stopped after. Configurations
alternate in rounds, so slow drifts in machine load hit each alike; medians and 95th
percentiles are reported. The run ends after ``--seconds`` whatever is left.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import itertools
import json
import multiprocessing
import os
import time

import numpy as np

LOADS = ("idle", "memory", "compute")
LOAD_PROCESSES = 2
ARRAY_BYTES = 64 * 2**20


def _memory_load() -> None:
    """Copy a 64 MB array into another for ever (memory bandwidth and last-level cache)."""
    a = np.ones(ARRAY_BYTES // 8)
    b = np.empty_like(a)
    while True:
        np.copyto(b, a)


def _compute_load() -> None:
    """Spin in the interpreter for ever (a core, little memory traffic)."""
    n = 0
    while True:
        n = (n + 1) % 1000003


@dataclass
class Cell:
    """Latencies (ms) of one (load, threads, busy_wait) configuration."""

    load: str
    threads: int
    busy_wait: bool
    ms: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        arr = np.array(self.ms) if self.ms else np.array([np.nan])
        return {"load": self.load, "threads": self.threads, "busy_wait": self.busy_wait,
                "frames": len(self.ms), "median_ms": float(np.median(arr)),
                "p95_ms": float(np.percentile(arr, 95))}


class LoadProcesses:
    """``count`` processes running one of the loads, stopped on exit (by their own ids)."""

    def __init__(self, load: str, count: int = LOAD_PROCESSES) -> None:
        target = {"memory": _memory_load, "compute": _compute_load}.get(load)
        ctx = multiprocessing.get_context("spawn")   # not fork: ORT's threads hold locks
        self._procs = [ctx.Process(target=target, daemon=True) for _ in range(count)] \
            if target else []

    def __enter__(self) -> LoadProcesses:
        for proc in self._procs:
            proc.start()
        if self._procs:
            time.sleep(0.5)            # let them start and reach their loop
        return self

    def __exit__(self, *exc) -> None:
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            proc.join(5)


def measure(frames: list[np.ndarray], threads: list[int], busy: list[bool],
            rounds: int, per_block: int, seconds: float) -> list[Cell]:
    """Run the rounds: for each load, each (threads, busy_wait) times ``per_block`` frames."""
    from posenet_ros.core.config import EstimatorConfig
    from posenet_ros.estimator import PoseEstimator
    estimators = {(t, b): PoseEstimator(EstimatorConfig(providers=("cpu",), threads=t,
                                                        busy_wait=b))
                  for t, b in itertools.product(threads, busy)}
    cells = {(load, t, b): Cell(load, t, b) for load in LOADS for t, b in estimators}
    deadline = time.monotonic() + seconds
    frame_index = itertools.cycle(range(len(frames)))
    for round_number in range(rounds):
        for load in LOADS:
            with LoadProcesses(load):
                order = list(estimators)
                if round_number % 2:           # alternate which configuration goes first
                    order.reverse()
                for key in order:
                    est = estimators[key]
                    for _ in range(2):         # warm: caches, thread pool wake-up
                        est.estimate(frames[next(frame_index)])
                    for _ in range(per_block):
                        frame = frames[next(frame_index)]
                        t0 = time.perf_counter()
                        est.estimate(frame)
                        cells[(load, *key)].ms.append((time.perf_counter() - t0) * 1e3)
                    if time.monotonic() > deadline:
                        return list(cells.values())
    return list(cells.values())


def table(cells: list[Cell]) -> str:
    """Markdown table: one row per load and busy_wait, median / p95 per thread count."""
    threads = sorted({c.threads for c in cells})
    head = "| load | busy_wait | " + " | ".join(f"threads={t} median / p95 ms" for t in threads)
    lines = [head + " |", "|" + "---|" * (2 + len(threads))]
    for load in LOADS:
        for busy in sorted({c.busy_wait for c in cells}):
            row = [f"{load}", f"{'on' if busy else 'off'}"]
            for t in threads:
                s = next(c for c in cells if (c.load, c.threads, c.busy_wait) == (load, t, busy))
                s = s.summary()
                row.append(f"{s['median_ms']:.1f} / {s['p95_ms']:.1f} (n={s['frames']})")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m posenet_ros.bench.threads",
                                     description=__doc__.splitlines()[0])
    cores = os.cpu_count() or 1
    parser.add_argument("--threads", default=f"1,{cores}",
                        help="thread counts to compare (default: 1 and all cores)")
    parser.add_argument("--busy-wait", choices=("on", "off", "both"), default="both",
                        help="ONNX Runtime spin-waiting (engine default on, the node's off)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--frames", type=int, default=25, help="timed frames per block")
    parser.add_argument("--seconds", type=float, default=150.0, help="stop after this long")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    from posenet_ros.core import paths
    from posenet_ros.imaging.files import iter_video
    frames = list(itertools.islice(iter_video(paths.sample_video()), 0, 200, 10))
    busy = {"on": [True], "off": [False], "both": [True, False]}[args.busy_wait]
    threads = [int(t) for t in args.threads.split(",")]
    started = time.monotonic()
    cells = measure(frames, threads, busy, args.rounds, args.frames, args.seconds)
    figures = {"cores": cores, "load_average_before": os.getloadavg(),
               "seconds": round(time.monotonic() - started, 1),
               "cells": [c.summary() for c in cells]}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)
    print(f"{cores} cores; {figures['seconds']} s; PoseEstimator 257 multi-pose, "
          f"{len(frames)} frames of vtest.avi")
    print(table(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
