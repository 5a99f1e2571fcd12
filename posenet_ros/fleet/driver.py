"""A fleet run from start to end: keys and skips, Ray, the fleet table, the summary, the plot.

Outputs in ``OUT``: ``bags/<name>/`` (each exactly ``posenet-ros bag``'s outputs, plus
``fleet.json`` and the bag's rows), ``frames.parquet``, ``tracks.parquet``,
``fleet_summary.json`` and ``robots.png``. The fleet-wide files are rewritten at the end of
every run (interrupted ones too) from every finished bag folder.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
import logging
from pathlib import Path
import time

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.fleet import state, table
from posenet_ros.fleet.inputs import FleetBag
from posenet_ros.fleet.progress import FleetProgress
from posenet_ros.fleet.work import BagOptions, BagTask, DONE, FAILED, SKIPPED

log = logging.getLogger(__name__)
SUMMARY, PLOT, FAILED_KEYS = "fleet_summary.json", "robots.png", "failed_bags.json"
PER_BAG = ("name", "bag", "status", "reason", "robot", "topic", "frames", "times_s")
# Settings that change how fast, never what: left out of the key.
NOT_IN_KEY = ("threads", "busy_wait", "extra", "providers", "device_id")


@dataclass
class RayRun:
    """What the run cost outside the bags' own work."""

    start_s: float = 0.0                  # ray.init (a local cluster starts here)
    stop_s: float = 0.0                   # ray.shutdown (a local cluster stops here)
    exit_s: float = 0.0                   # then until a local cluster's workers have exited
    actors_s: float = 0.0                 # actors up, models loaded
    workers: list[dict] = field(default_factory=list)   # pid, model load s, memory MiB
    address: str | None = None
    interrupted: bool = False


@dataclass(frozen=True)
class FleetRequest:
    bags: list[FleetBag]
    out_dir: Path
    config: EstimatorConfig
    options: BagOptions = field(default_factory=BagOptions)
    workers: int | None = None          # None: one per CPU (local) or the cluster's CPUs
    ray_address: str | None = None
    force: bool = False                 # redo every bag
    retry_failed: bool = False          # retry bags that failed for what they hold
    content_hash: bool = False          # key on every byte, not size + mtime + metadata


def settings_of(config: EstimatorConfig, options: BagOptions) -> dict:
    """Every setting that shapes a bag's outputs (the key's second half)."""
    engine = {k: v for k, v in asdict(config).items() if k not in NOT_IN_KEY}
    opts = {k: asdict(v) if is_dataclass(v) else v for k, v in vars(options).items()}
    return {"engine": engine, "bag": opts, "format": 2}   # 2: gestures in the rows


def run_fleet(req: FleetRequest, progress_stream=None) -> dict:
    """Run the fleet; returns the fleet summary (also written to ``OUT/fleet_summary.json``).

    Raises KeyboardInterrupt after writing what finished, when interrupted.
    """
    wall = time.perf_counter()
    bags_dir = req.out_dir / "bags"
    results: dict[str, dict] = {}
    run = RayRun(address=req.ray_address)
    with state.output_lock(req.out_dir):
        bags_dir.mkdir(parents=True, exist_ok=True)
        removed = state.remove_partial(bags_dir)
        if removed:
            log.info("removed partial outputs of an interrupted run: %s", ", ".join(removed))
        start = time.perf_counter()
        settings = settings_of(req.config, req.options)
        known_failures = {} if req.force or req.retry_failed else state.read_failures(
            req.out_dir / FAILED_KEYS)
        tasks = []
        sizes: dict[str, int] = {}
        for bag in req.bags:
            try:
                key = state.job_key(state.fingerprint(bag.path, req.content_hash), settings)
                sizes[bag.name] = sum(f.stat().st_size for f in state.bag_files(bag.path))
            except OSError as err:
                results[bag.name] = {"name": bag.name, "bag": str(bag.path), "status": FAILED,
                                     "reason": f"cannot read it: {err}", "times_s": {}}
                continue
            record = None if req.force else state.read_record(bags_dir / bag.name)
            failure = known_failures.get(bag.name)
            if record and record.get("key") == key:
                results[bag.name] = {**record, "status": SKIPPED,
                                     "previous_status": record.get("status")}
            elif failure and failure.get("key") == key:
                results[bag.name] = {**failure, "reason": f"{failure['reason']} (unchanged "
                                     "since the run that found it; --retry-failed retries)"}
            else:
                tasks.append(BagTask(bag.path, bag.name, bags_dir, key, req.options))
        # Longest first: a long recording starts at once instead of ending the run alone.
        tasks.sort(key=lambda t: -sizes[t.name])
        key_s = time.perf_counter() - start
        progress = FleetProgress(len(tasks), 0, stream=progress_stream)
        try:
            if tasks:
                from posenet_ros.fleet import runner     # Ray, only once there is work for it
                workers, run.start_s = runner.start_ray(req.ray_address, req.workers)
                try:
                    runner.run_on_ray(tasks, req.config, workers, run,
                                      lambda r: results.__setitem__(r["name"], r), progress)
                finally:
                    stop = time.perf_counter()
                    runner.ray.shutdown()
                    run.stop_s = time.perf_counter() - stop
        except KeyboardInterrupt:
            run.interrupted = True
        finally:
            progress.close()
        if tasks:       # what a killed or interrupted worker left half-written
            from posenet_ros.fleet.runner import wait_for_local_workers
            stop = time.perf_counter()
            wait_for_local_workers(run)
            run.exit_s = time.perf_counter() - stop
            state.remove_partial(bags_dir)
        summary = _finish(req, results, run, key_s, wall)
    if run.interrupted:
        raise KeyboardInterrupt
    return summary


def _finish(req: FleetRequest, results: dict[str, dict], run, key_s: float,
            wall: float) -> dict:
    start = time.perf_counter()
    bags_dir = req.out_dir / "bags"
    finished = [bags_dir / b.name for b in req.bags
                if results.get(b.name, {}).get("status", FAILED) != FAILED]
    tables = table.write_fleet_tables(req.out_dir, finished)
    robots = table.robot_figures(tables)
    table.plot_robots(req.out_dir / PLOT, robots)
    for figures in robots.values():
        figures.pop("_durations")
    rows = list(results.values())
    stage = {"keys": key_s, "ray_start": run.start_s, "ray_stop": run.stop_s,
             "ray_workers_exit": run.exit_s,
             "actors_start": run.actors_s,
             "analyse": sum(r.get("times_s", {}).get("analyse", 0.0) for r in rows),
             "engine": sum(r.get("engine_s", 0.0) for r in rows),
             "table": sum(r.get("times_s", {}).get("table", 0.0) for r in rows),
             "fleet_table": time.perf_counter() - start}
    stage["wall"] = time.perf_counter() - wall
    failed = [{"name": r["name"], "bag": r["bag"], "status": r["status"], "reason": r["reason"]}
              for r in rows if r["status"] == FAILED
              or (r["status"] == "damaged" or r.get("previous_status") == "damaged")]
    summary = {
        "bags": len(req.bags),
        "done": sum(r["status"] == DONE for r in rows),
        "skipped": sum(r["status"] == SKIPPED for r in rows),
        "failed": len(failed),
        "not_run": sorted(b.name for b in req.bags if b.name not in results),
        "interrupted": run.interrupted,
        "failures": failed,
        "frames": int(tables[table.FRAMES].num_rows),
        "tracks": int(tables[table.TRACKS].num_rows),
        "robots": robots,
        "time_s": stage,
        "ray": {"address": run.address or "local", "workers": run.workers},
        "outputs": {"bags": str(bags_dir), "frames": str(req.out_dir / table.FRAMES),
                    "tracks": str(req.out_dir / table.TRACKS), "plot": str(req.out_dir / PLOT)},
        "per_bag": sorted(({k: r.get(k) for k in PER_BAG} for r in rows),
                          key=lambda r: r["name"]),
    }
    table.write_summary(req.out_dir / SUMMARY, summary)
    table.write_summary(req.out_dir / FAILED_KEYS, {
        r["name"]: {k: r.get(k) for k in ("name", "bag", "key", "status", "reason", "permanent")}
        for r in rows if r["status"] == FAILED and r.get("permanent")})
    return summary
