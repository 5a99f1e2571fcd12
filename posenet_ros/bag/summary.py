"""Per-frame statistics of an analysed bag, the summary they add up to, and the timeline plot."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
import math
from pathlib import Path

import numpy as np

from posenet_ros.bag.depth_stream import BagDepth
from posenet_ros.bag.outputs import replace_file
from posenet_ros.bag.tracks import TrackLog
from posenet_ros.core.pose import Pose
from posenet_ros.stages.depth.lift import DepthConfig
from posenet_ros.stages.pipeline import StreamCounts
from posenet_ros.stages.track.config import TrackerConfig

MAX_ERROR_EXAMPLES = 20


@dataclass
class Timeline:
    """What happened per input message, in bag order.

    The plot's time axis is the receive (log) time: always present and in bag order, while
    header stamps can be zero or jump when a driver misbehaves.
    """

    stamps_ns: list[int] = field(default_factory=list)       # decoded frames' header stamps
    times_ns: list[int] = field(default_factory=list)        # ... and their receive times
    people: list[int] = field(default_factory=list)
    mean_scores: list[float] = field(default_factory=list)   # NaN where nobody was found
    pose_scores: list[float] = field(default_factory=list)   # every pose, all frames
    error_times_ns: list[int] = field(default_factory=list)  # receive times of skipped frames
    errors: list[dict] = field(default_factory=list)         # first few, with reasons
    error_count: int = 0

    def add(self, stamp_ns: int, log_time_ns: int, poses: list[Pose]) -> None:
        scores = [float(p.score) for p in poses]
        self.stamps_ns.append(stamp_ns)
        self.times_ns.append(log_time_ns)
        self.people.append(len(poses))
        self.mean_scores.append(float(np.mean(scores)) if scores else math.nan)
        self.pose_scores.extend(scores)

    def add_error(self, frame: int, log_time_ns: int, reason: str) -> None:
        self.error_count += 1
        self.error_times_ns.append(log_time_ns)
        if len(self.errors) < MAX_ERROR_EXAMPLES:
            self.errors.append({"frame": frame, "receive_time_ns": log_time_ns, "reason": reason})

    def statistics(self) -> dict:
        people = np.asarray(self.people, dtype=np.float64)
        return {
            "frames": len(self.people),
            "frames_with_people": int(np.count_nonzero(people)),
            "people_per_frame_mean": float(people.mean()) if people.size else 0.0,
            "people_per_frame_max": int(people.max()) if people.size else 0,
            "poses": len(self.pose_scores),
            "mean_pose_score": float(np.mean(self.pose_scores)) if self.pose_scores else None,
            "decode_errors": self.error_count,
            "decode_error_examples": self.errors,
            "first_stamp_ns": self.stamps_ns[0] if self.stamps_ns else None,
            "last_stamp_ns": self.stamps_ns[-1] if self.stamps_ns else None,
        }


def tracking_summary(config: TrackerConfig | None, tracks: TrackLog) -> dict | None:
    """``summary["tracking"]``: the settings and the tracks; None with tracking off."""
    if config is None:
        return None
    return {"settings": asdict(config), **tracks.statistics()}


def depth_summary(depth: BagDepth | None, stages: StreamCounts,
                  config: DepthConfig) -> dict | None:
    """``summary["depth"]``: colour frames paired / unmatched / refused; None without depth.

    ``unmatched``: no depth frame within the tolerance (2D); ``refused``: the paired depth
    frame could not be decoded (encoding, size; 2D); ``no_camera_info``: depth paired but no
    valid colour CameraInfo (K) yet (2D).
    """
    if depth is None:
        return None
    return {"topic": depth.topic, "tolerance_s": config.tolerance_s,
            **dict(stages.depth_counts), "examples": stages.depth_examples,
            **depth.report(), "settings": asdict(config)}


def write_json(path: Path, summary: dict) -> None:
    """Write the summary (through a temporary file: a link at ``path`` is replaced)."""
    text = (json.dumps(summary, indent=2) + "\n").encode("utf-8")
    replace_file(path, lambda f: f.write(text))


def format_summary(s: dict) -> str:
    """Return the human-readable lines ``posenet-ros bag`` prints at the end."""
    score = "n/a" if s["mean_pose_score"] is None else f"{s['mean_pose_score']:.3f}"
    lines = [
        f"input:   {s['input']} topic {s['topic']} ({s['input_type']}), "
        f"{s['messages_read']} of {s['messages_in_bag']} messages read",
        f"engine:  {s['engine']['model']} on {s['engine']['providers'][0]}, "
        f"{s['engine']['decoder']} decoder",
        f"frames:  {s['frames']} analysed, {s['frames_with_people']} with people, "
        f"{s['decode_errors']} undecodable (skipped)",
        f"people:  {s['people_per_frame_mean']:.2f} per frame (max {s['people_per_frame_max']}), "
        f"mean pose score {score}",
        f"speed:   {s['frames_per_second']:.1f} frames/s end to end "
        f"(engine {s['engine_ms_per_frame']:.1f} ms/frame), {s['elapsed_s']:.1f} s",
        f"outputs: {s['outputs']['bag']} ({s['output_topic']}), {s['outputs']['csv']}, "
        f"{s['outputs']['plot']}",
    ]
    tracking, depth = s.get("tracking"), s.get("depth")
    if tracking:
        longest = tracking["duration_s_max"]
        lines.append(f"tracks:  {tracking['count']} confirmed"
                     + (f" (longest {longest:.1f} s)" if longest is not None else "")
                     + f", {tracking['people_per_frame_mean']:.2f} tracked people per frame"
                     + (f", {tracking['passes']} passes (stamps jumped back)"
                        if tracking["passes"] > 1 else ""))
    gestures = s.get("gestures")
    if gestures:
        people = gestures["people"]
        lines.append(f"gestures: {gestures['people_raised_a_hand']} people raised a hand, "
                     f"{people['pointing']} pointed, {s['outputs']['gestures']}")
    if depth:
        lines.append(f"depth:   {depth['paired']} frames in 3D from {depth['topic']}, "
                     f"{depth['unmatched']} unmatched, {depth['refused']} refused, "
                     f"{depth['no_camera_info']} without CameraInfo (those in 2D)")
    if s.get("fault"):
        lines.append(f"FAULT:   {s['fault']}")
    return "\n".join(lines)


def plot_timeline(path: Path, timeline: Timeline, title: str,
                  tracks: TrackLog | None = None) -> None:
    """Plot people count and mean pose score over receive time (s since the first frame).

    Skipped frames are marked in red. With ``tracks``, the people panel also shows the
    confirmed (tracked) people, and a third panel one bar per track from its first to its last
    frame. Uses the Agg backend: no display needed. Written as :func:`write_json` writes.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    origin = min(timeline.times_ns + timeline.error_times_ns, default=0)
    t = (np.asarray(timeline.times_ns, dtype=np.int64) - origin) / 1e9
    rows = 3 if tracks is not None else 2
    fig, axes = plt.subplots(rows, 1, sharex=True, figsize=(10, 2.5 * rows), dpi=100)
    ax_people, ax_score = axes[:2]
    try:
        ax_people.step(t, timeline.people, where="post", color="tab:blue", linewidth=1,
                       label="detected")
        if tracks is not None:
            ax_people.step(t, tracks.people, where="post", color="tab:orange", linewidth=1,
                           label="tracked (confirmed ids)")
            _plot_tracks(axes[2], tracks, origin)
        ax_people.set_ylabel("people")
        ax_people.yaxis.get_major_locator().set_params(integer=True)
        if timeline.error_times_ns:
            errors = (np.asarray(timeline.error_times_ns, dtype=np.int64) - origin) / 1e9
            ax_people.plot(errors, np.zeros(len(errors)), "|", color="tab:red", markersize=12,
                           label=f"undecodable frames ({timeline.error_count})")
        if timeline.error_times_ns or tracks is not None:
            ax_people.legend(loc="upper right")
        ax_score.plot(t, timeline.mean_scores, ".-", color="tab:green", linewidth=1,
                      markersize=3)
        ax_score.set_ylim(0, 1)
        ax_score.set_ylabel("mean pose score")
        axes[-1].set_xlabel("time since first frame [s] (bag receive time)")
        ax_people.set_title(title)
        for ax in axes:
            ax.grid(True, alpha=0.3)
        fig.tight_layout()
        replace_file(path, lambda f: fig.savefig(f, format="png"))
    finally:
        plt.close(fig)


def _plot_tracks(ax, tracks: TrackLog, origin: int) -> None:
    """One horizontal bar per track (rows in order of confirmation), labelled with its id."""
    for row, track in enumerate(tracks.tracks):
        start = (track.first_time_ns - origin) / 1e9
        end = (track.last_time_ns - origin) / 1e9
        colour = f"C{track.track_id % 10}"
        ax.plot([start, end], [row, row], color=colour, linewidth=3, solid_capstyle="butt")
        if len(tracks.tracks) <= 40:
            ax.annotate(f"{track.track_id}", (start, row), fontsize=7, xytext=(-2, 0),
                        textcoords="offset points", ha="right", va="center")
    ax.set_ylabel("tracks")
    ax.set_ylim(len(tracks.tracks), -1)
    ax.set_yticks([])
