"""The fleet table: per-frame and per-track rows of every bag, as Parquet, and the summary.

Each bag's rows are collected while ``posenet-ros bag``'s analysis writes its PoseArrays (the
same messages, handed over by :func:`~posenet_ros.bag.analyze.analyze`'s ``on_frame``, with
the gestures it confirmed) and written beside its outputs (``frames.parquet``,
``tracks.parquet``) before the folder is published, so a skipped bag's rows come from its
folder and the fleet table is their concatenation. Tracks are cut exactly as ``posenet-ros
bag`` cuts them (:class:`~posenet_ros.bag.tracks.TrackLog`), from the ids in the PoseArrays.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from posenet_ros.bag.gestures import RAISED
from posenet_ros.bag.tracks import TrackLog
from posenet_ros.core.pose import UNTRACKED
from posenet_ros.reactions.gestures import POINTING
import pyarrow as pa
import pyarrow.parquet as pq

FRAMES, TRACKS = "frames.parquet", "tracks.parquet"
FRAME_SCHEMA = pa.schema([("bag", pa.string()), ("robot", pa.string()), ("frame", pa.int64()),
                          ("stamp_ns", pa.int64()), ("receive_ns", pa.int64()),
                          ("people", pa.int32()), ("tracked", pa.int32()),
                          ("track_ids", pa.list_(pa.int64())), ("mean_score", pa.float32()),
                          ("gesture_ids", pa.list_(pa.int64())),
                          ("gestures", pa.list_(pa.string()))])
TRACK_SCHEMA = pa.schema([("bag", pa.string()), ("robot", pa.string()), ("pass", pa.int32()),
                          ("track_id", pa.int64()), ("first_stamp_ns", pa.int64()),
                          ("last_stamp_ns", pa.int64()), ("duration_s", pa.float64()),
                          ("frames", pa.int64()), ("raised_hand_frames", pa.int64()),
                          ("first_raised_hand_stamp_ns", pa.int64()),
                          ("pointing_frames", pa.int64())])


class BagRows:
    """One bag's rows, frame by frame as its analysis writes them (``add`` is ``on_frame``)."""

    def __init__(self, bag: str, robot: str) -> None:
        self.bag, self.robot = bag, robot
        self.frames: dict[str, list] = {f.name: [] for f in FRAME_SCHEMA}
        self.log = TrackLog()
        self.gestures: dict[tuple[int, int], list] = {}   # (pass, id): raised, first, pointing

    def add(self, stamp_ns: int, log_time: int, msg, held: dict[int, str]) -> None:
        ids = [int(p.track_id) for p in msg.poses if p.track_id != UNTRACKED]
        scores = [float(p.score) for p in msg.poses]
        self.log.add(stamp_ns, log_time, [SimpleNamespace(track_id=p.track_id)
                                          for p in msg.poses])
        for track_id, gesture in held.items():
            counts = self.gestures.setdefault((self.log.passes - 1, track_id), [0, None, 0])
            if gesture in RAISED:
                counts[0] += 1
                counts[1] = stamp_ns if counts[1] is None else counts[1]
            counts[2] += gesture == POINTING
        for key, value in (("bag", self.bag), ("robot", self.robot),
                           ("frame", len(self.frames["frame"])), ("stamp_ns", stamp_ns),
                           ("receive_ns", log_time), ("people", len(msg.poses)),
                           ("tracked", len(ids)), ("track_ids", ids),
                           ("mean_score", float(np.mean(scores)) if scores else None),
                           ("gesture_ids", list(held)), ("gestures", list(held.values()))):
            self.frames[key].append(value)

    def write(self, folder: Path) -> dict:
        """Write the rows beside the bag's outputs; returns {frames, tracks} (row counts)."""
        tracks: dict[str, list] = {f.name: [] for f in TRACK_SCHEMA}
        for track in self.log.tracks:
            raised, first, pointing = self.gestures.get((track.pass_index, track.track_id),
                                                        (0, None, 0))
            for key, value in (("bag", self.bag), ("robot", self.robot),
                               ("pass", track.pass_index), ("track_id", track.track_id),
                               ("first_stamp_ns", track.first_stamp_ns),
                               ("last_stamp_ns", track.last_stamp_ns),
                               ("duration_s",
                                (track.last_stamp_ns - track.first_stamp_ns) / 1e9),
                               ("frames", track.frames), ("raised_hand_frames", raised),
                               ("first_raised_hand_stamp_ns", first),
                               ("pointing_frames", pointing)):
                tracks[key].append(value)
        pq.write_table(pa.table(self.frames, schema=FRAME_SCHEMA), folder / FRAMES)
        pq.write_table(pa.table(tracks, schema=TRACK_SCHEMA), folder / TRACKS)
        return {"frames": len(self.frames["frame"]), "tracks": len(tracks["track_id"])}


def write_fleet_tables(out_dir: Path, folders: list[Path]) -> dict[str, pa.Table]:
    """Concatenate the bags' rows into ``OUT/frames.parquet`` and ``OUT/tracks.parquet``."""
    tables = {}
    for name, schema in ((FRAMES, FRAME_SCHEMA), (TRACKS, TRACK_SCHEMA)):
        parts = [pq.read_table(f / name, schema=schema) for f in folders if (f / name).is_file()]
        table = pa.concat_tables(parts) if parts else schema.empty_table()
        tmp = out_dir / f".{name}.part"
        pq.write_table(table, tmp)
        os.replace(tmp, out_dir / name)
        tables[name] = table
    return tables


def robot_figures(tables: dict[str, pa.Table]) -> dict[str, dict]:
    """Per robot: bags, frames, hours recorded, people met, who raised a hand, durations."""
    frames, tracks = tables[FRAMES].to_pydict(), tables[TRACKS].to_pydict()
    robots: dict[str, dict] = {}
    spans: dict[tuple[str, str], list[int]] = {}
    for bag, robot, stamp in zip(frames["bag"], frames["robot"], frames["stamp_ns"]):
        r = robots.setdefault(robot, {"bags": set(), "frames": 0, "durations": []})
        r["bags"].add(bag)
        r["frames"] += 1
        span = spans.setdefault((robot, bag), [stamp, stamp])
        span[0], span[1] = min(span[0], stamp), max(span[1], stamp)
    raised: dict[str, int] = {}
    for robot, duration, hand in zip(tracks["robot"], tracks["duration_s"],
                                     tracks["raised_hand_frames"]):
        robots.setdefault(robot, {"bags": set(), "frames": 0, "durations": []})
        robots[robot]["durations"].append(duration)
        raised[robot] = raised.get(robot, 0) + (hand > 0)
    out = {}
    for robot, r in sorted(robots.items()):
        hours = sum(b - a for (rb, _), (a, b) in spans.items() if rb == robot) / 3.6e12
        durations = np.asarray(r["durations"], dtype=np.float64)
        out[robot] = {
            "bags": len(r["bags"]), "frames": r["frames"], "hours": hours,
            "people_met": int(durations.size),
            "people_met_per_hour": durations.size / hours if hours > 0 else None,
            "people_raised_a_hand": raised.get(robot, 0),
            "track_duration_s_median": float(np.median(durations)) if durations.size else None,
            "track_duration_s_max": float(durations.max()) if durations.size else None,
            "_durations": durations.tolist(),
        }
    return out


def write_summary(path: Path, summary: dict) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def plot_robots(path: Path, robots: dict[str, dict]) -> None:
    """People met per hour and track durations, robot beside robot."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    names = list(robots)
    fig, (met, dur) = plt.subplots(1, 2, figsize=(max(6.0, 1.2 * len(names) + 4), 4))
    rates = [robots[n]["people_met_per_hour"] or 0.0 for n in names]
    met.bar(names, rates, color="tab:blue")
    met.set_ylabel("people met per hour of recording")
    met.set_title("people met (confirmed tracks)")
    data = [robots[n]["_durations"] or [math.nan] for n in names]
    if names:
        dur.boxplot(data, tick_labels=names)
    dur.set_ylabel("track duration (s)")
    dur.set_title("how long people stayed")
    for ax in (met, dur):
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
