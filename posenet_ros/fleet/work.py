"""One bag's work, as a fleet worker does it: ``posenet-ros bag``'s analysis, then the rows.

Plain Python (no Ray), so the same function runs in a Ray actor, in a test, or in a loop.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import os
from pathlib import Path
import shutil
import time

from posenet_ros.bag.analyze import analyze, BagJob, OUTPUT_NAMES
from posenet_ros.bag.depth_topics import DepthTopics
from posenet_ros.bag.reader import BagError, ImageBag
from posenet_ros.bag.summary import write_json
from posenet_ros.estimator import PoseEstimator
from posenet_ros.fleet import state, table
from posenet_ros.fleet.inputs import robot_of, select_topic
from posenet_ros.reactions.config import GestureConfig
from posenet_ros.stages.depth.lift import DepthConfig
from posenet_ros.stages.track.config import TrackerConfig

DONE, DAMAGED, FAILED, SKIPPED = "done", "damaged", "failed", "skipped"


@dataclass(frozen=True)
class BagOptions:
    """What ``posenet-ros bag`` takes besides the bag, the topic and the output folder."""

    topic: str | None = None          # name (namespaced match without a leading slash) or None
    output_topic: str | None = None
    markers: bool = False
    marker_topic: str | None = None
    tracking: TrackerConfig | None = field(default_factory=TrackerConfig)
    depth: DepthTopics | None = None
    depth_config: DepthConfig = field(default_factory=DepthConfig)
    gestures: GestureConfig | None = field(default_factory=GestureConfig)


@dataclass(frozen=True)
class BagTask:
    bag: Path
    name: str
    bags_dir: Path        # OUT/bags
    key: str
    options: BagOptions


def analyse_bag(task: BagTask, estimator: PoseEstimator,
                on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Analyse one bag into ``bags_dir/<name>/`` (atomically); returns its result record.

    A bag that cannot be analysed gives status ``failed`` and its reason, leaving nothing;
    one damaged part-way gives ``damaged``: its outputs hold every frame before the damage,
    as ``posenet-ros bag`` leaves them. KeyboardInterrupt removes the partial folder and
    propagates.
    """
    result = {"name": task.name, "bag": str(task.bag), "key": task.key, "status": FAILED,
              "reason": None, "topic": None, "robot": None, "frames": 0,
              "worker_pid": os.getpid(), "times_s": {}}
    tmp = state.tmp_folder(task.bags_dir, task.name)
    start = time.perf_counter()
    try:
        with ImageBag(task.bag) as bag:
            topic = select_topic(bag, task.options.topic)
        result["topic"], result["robot"] = topic.name, robot_of(topic.name, task.bag)
        if tmp.exists():
            shutil.rmtree(tmp)
        opts = task.options
        job = BagJob(bag=task.bag, topic=topic.name, out_dir=tmp,
                     output_topic=opts.output_topic, markers=opts.markers,
                     marker_topic=opts.marker_topic, tracking=opts.tracking,
                     depth=opts.depth, depth_config=opts.depth_config, gestures=opts.gestures)
        rows = table.BagRows(task.name, result["robot"])
        summary = analyze(job, estimator, on_progress, rows.add)
        analysed = time.perf_counter()
        final = task.bags_dir / task.name      # the summary names where its files will be
        summary["outputs"] = {k: str(final / Path(v).name) for k, v in summary["outputs"].items()}
        write_json(tmp / OUTPUT_NAMES["summary"], summary)
        result.update(frames=summary["frames"], messages=summary["messages_read"],
                      rows=rows.write(tmp),
                      status=DAMAGED if summary["fault"] else DONE, reason=summary["fault"],
                      engine_s=summary["engine_ms_per_frame"] * summary["frames"] / 1000)
        result["times_s"] = {"analyse": analysed - start,
                             "table": time.perf_counter() - analysed}
        state.write_record(tmp, result)
        state.publish(tmp, final)
    except KeyboardInterrupt:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except BagError as err:         # the bag itself: the same again until it changes
        result["reason"], result["permanent"] = str(err), True
    except Exception as err:  # noqa: BLE001 - one bad bag is reported, the fleet goes on
        result["reason"] = f"{type(err).__name__}: {err}"
    if result["status"] == FAILED:
        shutil.rmtree(tmp, ignore_errors=True)
        result["times_s"] = {"analyse": time.perf_counter() - start}
    return result


class BagWorker:
    """The actor: a warm estimator (the model loaded once), fed one bag at a time."""

    def __init__(self, config) -> None:
        start = time.perf_counter()
        self.estimator = PoseEstimator(config)
        self.load_s = time.perf_counter() - start
        self.frames = self.total = 0

    def ready(self) -> dict:
        return {"pid": os.getpid(), "load_s": self.load_s, "rss_mb": rss_mb(),
                "niceness": os.nice(0)}

    def progress(self) -> tuple[int, int]:
        """Frames read and listed in the bag now being analysed (asked while it runs)."""
        return self.frames, self.total

    def run(self, task: BagTask) -> dict:
        self.frames, self.total = 0, 0
        result = analyse_bag(task, self.estimator, self._on_progress)
        self.frames = self.total = 0
        result["rss_mb"] = rss_mb()
        return result

    def _on_progress(self, done: int, total: int) -> None:
        self.frames, self.total = done, total


def rss_mb() -> float:
    """Resident memory of this process, MiB (Linux /proc; 0 where unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0
