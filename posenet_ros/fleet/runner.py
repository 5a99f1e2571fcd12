"""The fleet on Ray: one actor per worker with a warm estimator, one bag's topic per task.

``ray.init()`` starts a local Ray with ``workers`` CPUs, or ``ray.init(address=...)`` joins a
running cluster (every node then needs posenet_ros, the models, the bags and the output folder
at the same paths: a shared file system). Tasks go to whichever actor is free, so a long bag
holds one worker while the others go through the rest. Bags are not split in time: tracking
needs a bag's frames in order, and stitching tracks across a cut is left for a later version
(docs/fleet.md gives the measured cost per bag).

A worker that dies (killed, out of memory) is restarted by Ray, which runs its bag once more
on it; a bag that kills its worker twice is failed with the reason, and the rest go on.
On Ctrl-C the actors are killed, partial folders removed, and what finished is kept.

A local Ray runs its workers at the priority of the command (niceness 0), where Ray's default
lowers them to 15: on a machine shared with other work a niced worker gets a fraction of its
CPU, so the same analysis took longer in the fleet than ``posenet-ros bag`` took for it
(docs/fleet.md). A cluster's ``ray start`` decides for its own workers
(``RAY_worker_niceness=0 ray start ...`` does the same there).
"""
from __future__ import annotations

from collections.abc import Callable
import logging
import os
import socket
import time
from typing import TYPE_CHECKING

from posenet_ros.fleet.progress import FleetProgress
from posenet_ros.fleet.work import BagTask, BagWorker, DONE, FAILED
import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError

if TYPE_CHECKING:
    from posenet_ros.fleet.driver import RayRun

log = logging.getLogger(__name__)
POLL_S = 0.5
ACTOR_RESTARTS = 3
TASK_RETRIES = 1        # a bag whose worker died runs once more (a poisoned one: no more)
WORKER_NICENESS = 0     # a local Ray's workers: as `posenet-ros bag` runs (Ray's default: 15)


def start_ray(address: str | None, workers: int | None) -> tuple[int, float]:
    """Start or join Ray; returns (workers to use, seconds it took)."""
    start = time.perf_counter()
    kwargs = {"include_dashboard": False, "logging_level": logging.WARNING,
              "log_to_driver": False}
    if address:
        _check_reachable(address)
        ray.init(address=address, **kwargs)
        cpus = int(ray.cluster_resources().get("CPU", 1))
    else:
        cpus = workers or os.cpu_count() or 1
        # "local": always a new cluster of our own, never one a `ray start` left behind.
        ray.init(address="local", num_cpus=cpus,
                 _system_config={"worker_niceness": WORKER_NICENESS}, **kwargs)
    return max(1, min(workers or cpus, cpus)), time.perf_counter() - start


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (ConnectionError) where nothing listens at ``host:port``.

    Ray itself keeps retrying an unreachable head for minutes; ``auto`` and ``ray://``
    addresses are left to Ray.
    """
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ConnectionError(f"no Ray cluster answers at {address} ({err.strerror or err}): "
                              "start one with `ray start --head`, or check the address") from err


def run_on_ray(tasks: list[BagTask], config, workers: int, run: RayRun,
               on_result: Callable[[dict], None], progress: FleetProgress) -> None:
    """Analyse ``tasks`` on ``workers`` actors; ``on_result`` gets each bag's record."""
    if not tasks:
        return
    start = time.perf_counter()
    actor_cls = ray.remote(num_cpus=1, max_concurrency=2, max_restarts=ACTOR_RESTARTS,
                           max_task_retries=TASK_RETRIES)(BagWorker)
    actors = [actor_cls.remote(config) for _ in range(min(workers, len(tasks)))]
    try:
        run.workers = ray.get([a.ready.remote() for a in actors])
        run.actors_s = time.perf_counter() - start
        _dispatch(tasks, actors, on_result, progress)
    except KeyboardInterrupt:
        run.interrupted = True
        raise
    finally:
        for actor in actors:
            ray.kill(actor)


def _dispatch(tasks: list[BagTask], actors: list, on_result: Callable[[dict], None],
              progress: FleetProgress) -> None:
    queue = list(reversed(tasks))
    running: dict = {}            # future -> (actor, task)
    done_frames, totals, finished, failed = 0, [], 0, 0

    def submit(actor) -> None:
        task = queue.pop()
        running[actor.run.remote(task)] = (actor, task)

    for actor in actors:
        if queue:
            submit(actor)
    while running:
        ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
        for future in ready:
            actor, task = running.pop(future)
            try:
                result = ray.get(future)
            except RayError as err:     # its worker died, each time it ran
                result = {"name": task.name, "bag": str(task.bag), "status": FAILED,
                          "reason": f"worker died while analysing it "
                                    f"({TASK_RETRIES + 1} times): {_first_line(err)}",
                          "frames": 0, "times_s": {}}
            on_result(result)
            finished += 1
            failed += result["status"] != DONE
            done_frames += result.get("messages", 0)
            totals.append(result.get("messages", 0))
            if queue:
                submit(actor)
        live = _live_frames({a for a, _ in running.values()})
        current = done_frames + sum(f for f, _ in live)
        known = sum(totals) + sum(t for _, t in live)
        guess = (known / (len(totals) + len(live))) if totals or live else 0
        progress.frames = int(known + guess * len(queue))
        progress.update(finished, failed, current)
    progress.update(finished, failed, done_frames, force=True)


def wait_for_local_workers(run: RayRun, timeout_s: float = 10.0) -> None:
    """After a local Ray shut down: wait until its workers are gone (none writes any more)."""
    if run.address:
        return      # a cluster's workers live on other machines; ray.kill has stopped them
    pids = {w["pid"] for w in run.workers}
    deadline = time.monotonic() + timeout_s
    while pids and time.monotonic() < deadline:
        pids = {pid for pid in pids if _alive(pid)}
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _live_frames(actors: set) -> list[tuple[int, int]]:
    if not actors:
        return []
    futures = [a.progress.remote() for a in actors]
    try:
        return ray.get(futures, timeout=POLL_S)
    except (GetTimeoutError, RayActorError):
        return []


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
