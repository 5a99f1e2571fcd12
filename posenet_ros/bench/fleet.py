"""What the fleet runner costs: ``posenet-ros bag`` in a loop against the fleet on Ray.

    python -m posenet_ros.bench.fleet [--bags 20] [--frames 100] [--workers 1 2] [--json F]

On the same generated bags (vtest.avi, raw MCAP, two robots), in one run: the ``posenet-ros
bag`` command in a loop (a process and a model load per bag, as a shell loop runs it); the
same analysis in one process with one warm model (the fleet's work without Ray: Ray's
overhead is measured against this, one ONNX Runtime thread as a fleet worker has), run before
and after the first fleet run and averaged, as a shared machine's load drifts; the fleet with
each worker count (Ray's start-up reported apart, the 1-worker overhead split into its
parts). Also the cost of the rerun keys: stat-based fingerprints against a sha256 of every
byte.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
import json
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile
import time

from posenet_ros.bag.analyze import analyze, BagJob
from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
from posenet_ros.core import paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.estimator import PoseEstimator
from posenet_ros.fleet import state
from posenet_ros.fleet.driver import FleetRequest, run_fleet
from posenet_ros.fleet.inputs import expand_inputs
from posenet_ros.fleet.work import rss_mb

TOPIC = "camera/image_raw"


def make_bags(root: Path, bags: int, frames: int) -> list[Path]:
    out = []
    for i in range(bags):
        robot = f"robot{i % 2 + 1}"
        path = root / robot / f"bag{i:03d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video_bag(VideoBagJob(paths.sample_video(), path, topic=f"/{robot}/{TOPIC}",
                                    max_frames=frames))
        out.append(path)
    return out


def cli_loop(bags: list[Path], out: Path) -> float:
    start = time.perf_counter()
    for bag in bags:
        topic = f"/{bag.parent.name}/{TOPIC}"
        subprocess.run([sys.executable, "-m", "posenet_ros.cli.main", "bag", str(bag),
                        "--topic", topic, "-o", str(out / bag.name)],
                       check=True, capture_output=True)
    return time.perf_counter() - start


def inprocess_loop(bags: list[Path], out: Path, config: EstimatorConfig) -> dict:
    start = time.perf_counter()
    estimator = PoseEstimator(config)
    loaded = time.perf_counter()
    frames = 0
    for bag in bags:
        topic = f"/{bag.parent.name}/{TOPIC}"
        frames += analyze(BagJob(bag, topic, out / bag.name), estimator)["frames"]
    end = time.perf_counter()
    return {"wall_s": end - start, "model_load_s": loaded - start, "work_s": end - loaded,
            "frames": frames, "rss_mb": rss_mb()}


def fleet_run(bags_root: Path, out: Path, config: EstimatorConfig, workers: int) -> dict:
    req = FleetRequest(expand_inputs([str(bags_root)]), out, config, workers=workers)
    from posenet_ros.fleet.work import BagOptions
    req = replace(req, options=BagOptions(topic=TOPIC))
    with open(os.devnull, "w") as quiet:
        summary = run_fleet(req, progress_stream=quiet)
    t = summary["time_s"]
    ray_s = t["ray_start"] + t["ray_stop"] + t["ray_workers_exit"]
    return {"wall_s": t["wall"], "ray_start_s": t["ray_start"], "ray_stop_s": t["ray_stop"],
            "ray_workers_exit_s": t["ray_workers_exit"], "actors_start_s": t["actors_start"],
            "wall_without_ray_start_stop_s": t["wall"] - ray_s,
            "analyse_s_sum": t["analyse"], "table_s_sum": t["table"],
            "fleet_table_s": t["fleet_table"], "keys_s": t["keys"], "frames": summary["frames"],
            "failed": summary["failed"], "workers": summary["ray"]["workers"],
            "worker_rss_mb": [w["rss_mb"] for w in summary["ray"]["workers"]]}


def overhead_parts(loop: dict, fleet: dict) -> dict:
    """Where one worker's time beyond the loop's goes (seconds; ``other``: the remainder).

    ``analysis``: the bags' analysis in the actor against the same in the loop; ``actor``:
    the actor up with its model against the loop's model load; ``rows``: each bag's Parquet
    rows; ``fleet_table``: the fleet table, summary and plot; ``other``: keys, dispatch,
    results through Ray, waiting for the workers to exit.
    """
    total = fleet["wall_without_ray_start_stop_s"] - loop["wall_s"]
    parts = {"analysis": fleet["analyse_s_sum"] - loop["work_s"],
             "actor": fleet["actors_start_s"] - loop["model_load_s"],
             "rows": fleet["table_s_sum"], "fleet_table": fleet["fleet_table_s"]}
    parts["other"] = total - sum(parts.values())
    return {"total": total, **parts}


def key_costs(bags: list[Path]) -> dict:
    size = sum(f.stat().st_size for b in bags for f in state.bag_files(b))
    out = {"bytes": size}
    for name, full in (("stat", False), ("sha256", True)):
        start = time.perf_counter()
        for bag in bags:
            state.fingerprint(bag, full)
        out[f"{name}_s"] = time.perf_counter() - start
    out["sha256_s_per_gb"] = out["sha256_s"] / (size / 1e9) if size else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bags", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-cli", action="store_true", help="leave out the command loop")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    config = EstimatorConfig(threads=1)
    report: dict = {"bags": args.bags, "frames_per_bag": args.frames,
                    "cpus": os.cpu_count(), "config": "posenet 257 multi, 1 thread per worker"}
    with tempfile.TemporaryDirectory(prefix="posenet-fleet-bench-") as tmp:
        root = Path(tmp)
        bags = make_bags(root / "in", args.bags, args.frames)
        report["keys"] = key_costs(bags)
        if not args.skip_cli:
            report["bag_cli_loop_s"] = cli_loop(bags, root / "cli")
        loops = [inprocess_loop(bags, root / "loop0", config)]
        for index, workers in enumerate(args.workers):
            report[f"fleet_{workers}"] = fleet_run(root / "in", root / f"fleet{workers}",
                                                   config, workers)
            shutil.rmtree(root / f"fleet{workers}")
            if index == 0:      # the baseline again: the machine's drift shows, and averages
                loops.append(inprocess_loop(bags, root / "loop1", config))
    report["inprocess_loop"] = {key: (sum(loop[key] for loop in loops) / len(loops)
                                      if key != "frames" else loops[0][key])
                                for key in loops[0]}
    report["inprocess_loop"]["runs_wall_s"] = [loop["wall_s"] for loop in loops]
    base = report["inprocess_loop"]["wall_s"]
    for workers in args.workers:
        run = report[f"fleet_{workers}"]
        run["overhead_vs_loop"] = run["wall_without_ray_start_stop_s"] / base - 1
        run["frames_per_s"] = run["frames"] / run["wall_without_ray_start_stop_s"]
    report["inprocess_loop"]["frames_per_s"] = report["inprocess_loop"]["frames"] / base
    if 1 in args.workers:
        report["fleet_1"]["overhead_parts_s"] = overhead_parts(report["inprocess_loop"],
                                                               report["fleet_1"])
    text = json.dumps(report, indent=2)
    sys.stdout.write(text + "\n")
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
