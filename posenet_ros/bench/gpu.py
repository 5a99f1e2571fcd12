"""GPU figures in one run: CUDA and TensorRT against the CPU on real frames at 1080p, JSON out.

For each provider asked for (``--providers tensorrt,cuda``; ``cpu`` to try it without a GPU)
and network input (257, 513): session start and first frame (for TensorRT with an empty
engine cache, i.e. the engine build, then again reusing the cache), per-stage and end-to-end
milliseconds per 1080p frame, frames/s batched over ``--streams`` camera streams, device
memory (NVML; host RSS where there is no GPU) per stream, and the poses checked against the
CPU provider's on the same frames. A provider this onnxruntime lacks, or that cannot start
here, is reported with the reason and skipped; the exit status says whether any was.

    python -m posenet_ros.bench.gpu --providers tensorrt,cuda --json out/bench/gpu.json
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
from pathlib import Path
import platform
import sys
import tempfile
import time

import cv2
import numpy as np

from posenet_ros.bench.memory import rss_mib
from posenet_ros.core import paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.estimator import PoseEstimator
from posenet_ros.runtime import cuda_libs
from posenet_ros.runtime.session import PROVIDER_NAMES

FRAME_SIZE = (1920, 1080)
TARGET_E2E_MS, TARGET_BATCH_FPS = 2.0, 1500.0      # issue 13's targets on an H100/H200
# Poses equal the CPU's when: same count, instance scores within SCORE_TOL, and keypoints the
# CPU scores >= CONFIDENT within PX_TOL 1080p pixels (device preprocessing and GPU kernels
# round differently; the CPU test of device preprocessing holds 0.5 px at 768x576).
SCORE_TOL, PX_TOL, CONFIDENT = 2e-3, 1.5, 0.5
WARMUP = 3
EXIT_SOME_SKIPPED, EXIT_NONE_RAN = 2, 3


def frames_1080p(video: Path, count: int) -> list[np.ndarray]:
    """``count`` real frames spread over ``video``, resized to 1920x1080 RGB (camera size)."""
    from posenet_ros.imaging.files import spread_frames
    return [cv2.resize(f, FRAME_SIZE, interpolation=cv2.INTER_LINEAR)
            for f in spread_frames(video, count)]


class DeviceMemory:
    """Used memory of GPU 0 through NVML (the driver's library), or None without a GPU."""

    class _Info(ctypes.Structure):
        _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong),
                    ("used", ctypes.c_ulonglong)]

    def __init__(self) -> None:
        self._handle = None
        try:
            self._nvml = ctypes.CDLL("libnvidia-ml.so.1")
        except OSError:
            return
        handle = ctypes.c_void_p()
        if (self._nvml.nvmlInit_v2() == 0
                and self._nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(handle)) == 0):
            self._handle = handle

    def used_mib(self) -> float | None:
        if self._handle is None:
            return None
        info = self._Info()
        if self._nvml.nvmlDeviceGetMemoryInfo(self._handle, ctypes.byref(info)) != 0:
            return None
        return info.used / 2**20

    def name(self) -> str | None:
        if self._handle is None:
            return None
        buf = ctypes.create_string_buffer(96)
        self._nvml.nvmlDeviceGetName(self._handle, buf, 96)
        return buf.value.decode()


def memory_mib(gpu: DeviceMemory) -> tuple[str, float]:
    used = gpu.used_mib()
    return ("device", used) if used is not None else ("host_rss", rss_mib())


def why_skipped(short: str, available: list[str]) -> str | None:
    """Why provider ``short`` cannot be measured here (None when it can)."""
    import onnxruntime as ort
    name = PROVIDER_NAMES[short]
    if name not in available:
        return (f"{name} is not in this onnxruntime ({ort.__version__}, providers "
                f"{', '.join(available)}): install onnxruntime-gpu (tools/gpu_check.py)")
    return cuda_libs.unusable([name]).get(name)


def compare(got: list, want: list) -> dict:
    """Largest differences of ``got`` poses from ``want`` (the CPU's), frame by frame."""
    counts = all(len(g) == len(w) for g, w in zip(got, want))
    d_score, d_px = 0.0, 0.0
    for g_frame, w_frame in zip(got, want):
        for g, w in zip(g_frame, w_frame):
            d_score = max(d_score, abs(g.score - w.score))
            sure = w.keypoint_scores >= CONFIDENT
            d_px = max(d_px, float(np.abs(g.positions[sure] - w.positions[sure]).max(initial=0)))
    return {"same_counts": counts, "max_score_diff": d_score, "max_keypoint_px": d_px,
            "equal": counts and d_score <= SCORE_TOL and d_px <= PX_TOL,
            "tolerance": {"score": SCORE_TOL, "px": PX_TOL, "confident": CONFIDENT}}


def _median_ms(values: list[float]) -> float:
    return float(np.median(values) * 1e3)


def time_frames(est: PoseEstimator, frames: list[np.ndarray], rounds: int) -> dict:
    """Per-stage and end-to-end medians (ms) of single 1080p frames, after warm-up."""
    stages: dict[str, list[float]] = {"preprocess": [], "inference": [], "decode": [],
                                      "end_to_end": []}
    for i in range(WARMUP + rounds * len(frames)):
        t = time.perf_counter()
        result = est.estimate(frames[i % len(frames)])
        e2e = time.perf_counter() - t
        if i >= WARMUP:
            for key in ("preprocess", "inference", "decode"):
                stages[key].append(getattr(result.times, key))
            stages["end_to_end"].append(e2e)
    ms = {k: _median_ms(v) for k, v in stages.items()}
    ms["end_to_end_p90"] = float(np.percentile(stages["end_to_end"], 90) * 1e3)
    return ms


def time_batches(est: PoseEstimator, frames: list[np.ndarray], streams: int,
                 seconds: float) -> dict:
    """Frames/s when ``streams`` cameras' frames run as one batch, for about ``seconds``."""
    batch = [frames[i % len(frames)] for i in range(streams)]
    ids = list(range(streams))
    for _ in range(WARMUP):
        est.estimate_batch(batch, streams=ids)
    runs, inference, start = 0, [], time.perf_counter()
    while time.perf_counter() - start < seconds or runs < 5:
        results = est.estimate_batch(batch, streams=ids)
        inference.append(results[0].times.inference)
        runs += 1
    elapsed = time.perf_counter() - start
    return {"streams": streams, "batches": runs, "frames_per_s": runs * streams / elapsed,
            "batch_ms": elapsed / runs * 1e3, "batch_inference_ms": _median_ms(inference)}


def start(config: EstimatorConfig, frame: np.ndarray) -> tuple[PoseEstimator, dict]:
    """Build an estimator and run one frame: start-up seconds (a TensorRT engine build)."""
    t = time.perf_counter()
    est = PoseEstimator(config)
    t_session = time.perf_counter() - t
    est.estimate(frame)
    return est, {"session_s": t_session, "first_frame_s": time.perf_counter() - t - t_session}


def measure(short: str, resolution: int, frames: list[np.ndarray], reference: list,
            args: argparse.Namespace, gpu: DeviceMemory, cache: Path) -> dict:
    """Every figure for one provider at one network input."""
    extra = {}
    if short == "tensorrt":
        extra = {"tensorrt": {"trt_engine_cache_path": str(cache),
                              "trt_timing_cache_path": str(cache)}}
    providers = (short, "cuda") if short == "tensorrt" else (short,)
    config = EstimatorConfig(input_resolution=resolution, decoder="multi", providers=providers,
                             extra=extra, busy_wait=True)
    kind, before = memory_mib(gpu)
    est, startup = start(config, frames[0])
    if est.providers[0] != PROVIDER_NAMES[short]:
        return {"skipped": f"fell back to {est.providers[0]} (see the warning above)"}
    _, one = memory_mib(gpu)
    row: dict = {"provider": est.providers[0], "resolution": resolution,
                 "input_size": list(est.input_size(*FRAME_SIZE)), "startup": startup}
    if short == "tensorrt":     # a second session finds the engines in the cache
        _, row["startup_cached"] = start(config, frames[0])
        row["engine_cache_files"] = sorted(p.name for p in cache.iterdir())
    row["poses"] = compare([est.estimate(f).poses for f in frames], reference)
    row["single_ms"] = time_frames(est, frames, args.rounds)
    row["batched"] = time_batches(est, frames, args.streams, args.seconds)
    _, many = memory_mib(gpu)
    second, _ = start(config, frames[0])       # one more session, as a node per camera would
    _, two = memory_mib(gpu)
    row["memory_mib"] = {
        "kind": kind, "first_session": one - before,
        "per_stream_in_batch": (many - one) / max(args.streams - 1, 1),
        "per_extra_session": two - many}
    del second
    row["targets"] = {"end_to_end_ms": TARGET_E2E_MS,
                      "end_to_end_met": row["single_ms"]["end_to_end"] <= TARGET_E2E_MS,
                      "batched_fps": TARGET_BATCH_FPS,
                      "batched_met": row["batched"]["frames_per_s"] >= TARGET_BATCH_FPS}
    return row


def environment(gpu: DeviceMemory) -> dict:
    import onnxruntime as ort
    return {"python": platform.python_version(), "onnxruntime": ort.__version__,
            "onnxruntime_file": ort.__file__, "available": ort.get_available_providers(),
            "gpu": gpu.name(), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "frame_size": list(FRAME_SIZE)}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m posenet_ros.bench.gpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--providers", default="tensorrt,cuda",
                   help="comma-separated, measured in turn (cpu: a run without a GPU)")
    p.add_argument("--resolutions", type=int, nargs="+", default=[257, 513])
    p.add_argument("--frames", type=int, default=16, help="real frames of the video")
    p.add_argument("--rounds", type=int, default=3, help="passes over the frames, timed")
    p.add_argument("--streams", type=int, default=8, help="camera streams in one batch")
    p.add_argument("--seconds", type=float, default=3.0, help="how long to run batches")
    p.add_argument("--video", type=Path, default=None, help="default: vtest.avi")
    p.add_argument("--json", type=Path, default=Path("out/bench/gpu.json"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import onnxruntime as ort
    wanted = [s.strip().lower() for s in args.providers.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in PROVIDER_NAMES]
    if unknown:
        print(f"unknown provider(s) {unknown}: use {', '.join(PROVIDER_NAMES)}", file=sys.stderr)
        return EXIT_NONE_RAN
    gpu = DeviceMemory()
    report: dict = {"environment": environment(gpu), "skipped": {}, "rows": []}
    available = ort.get_available_providers()
    for short in wanted:
        reason = why_skipped(short, available)
        if reason:
            print(f"SKIP {short}: {reason}", file=sys.stderr)
            report["skipped"][short] = reason
    runnable = [s for s in wanted if s not in report["skipped"]]
    video = paths.require(Path(args.video or paths.sample_video()), "benchmark video")
    frames = frames_1080p(video, args.frames) if runnable else []
    with tempfile.TemporaryDirectory(prefix="trt-cache-") as tmp:
        for resolution in args.resolutions if runnable else []:
            cpu = PoseEstimator(input_resolution=resolution, decoder="multi", providers=("cpu",))
            reference = [cpu.estimate(f).poses for f in frames]
            del cpu
            for short in runnable:
                cache = Path(tmp) / f"{short}-{resolution}"   # empty: the first build is cold
                cache.mkdir()
                row = measure(short, resolution, frames, reference, args, gpu, cache)
                if "skipped" in row:
                    print(f"SKIP {short} at {resolution}: {row['skipped']}", file=sys.stderr)
                    report["skipped"][f"{short}@{resolution}"] = row["skipped"]
                    continue
                report["rows"].append(row)
                print(summary(row))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    if not report["rows"]:
        return EXIT_NONE_RAN
    return EXIT_SOME_SKIPPED if report["skipped"] else 0


def summary(row: dict) -> str:
    ms, batch, mem = row["single_ms"], row["batched"], row["memory_mib"]
    start_s = row["startup"]["session_s"] + row["startup"]["first_frame_s"]
    cached = row.get("startup_cached")
    return (f"{row['provider']:<26} {row['resolution']:>3}: pre {ms['preprocess']:.2f} "
            f"inf {ms['inference']:.2f} dec {ms['decode']:.2f} e2e {ms['end_to_end']:.2f} ms; "
            f"{batch['frames_per_s']:.0f} frames/s x{batch['streams']}; start {start_s:.1f} s"
            + (f" (cached {sum(cached.values()):.1f} s)" if cached else "")
            + f"; {mem['kind']} {mem['first_session']:.0f} MiB +{mem['per_stream_in_batch']:.1f}"
            f"/stream; poses {'equal' if row['poses']['equal'] else 'DIFFER'} to CPU")


if __name__ == "__main__":
    sys.exit(main())
