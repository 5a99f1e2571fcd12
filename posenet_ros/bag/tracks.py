"""The tracks of an analysed bag: who was seen when, for ``summary.json`` and the plot.

A track is a confirmed id (``track_id`` > 0) within one *pass*: a header stamp earlier than
the previous frame's (a looping recording, sim time reset) restarts the tracker's ids at 1, so
id 3 after such a jump is a different person from id 3 before it; passes are numbered from 0.
Durations are in header-stamp seconds (first to last frame with the id), the plot's bars in
receive time like its other panels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posenet_ros.core.pose import Pose, UNTRACKED

MAX_TRACKS_LISTED = 1000   # per-track entries in summary.json (all are counted)


@dataclass
class Track:
    pass_index: int
    track_id: int
    first_stamp_ns: int
    last_stamp_ns: int
    first_time_ns: int     # receive times, for the plot
    last_time_ns: int
    frames: int = 1

    def to_dict(self) -> dict:
        return {"pass": self.pass_index, "id": self.track_id,
                "first_stamp_ns": self.first_stamp_ns, "last_stamp_ns": self.last_stamp_ns,
                "duration_s": (self.last_stamp_ns - self.first_stamp_ns) / 1e9,
                "frames": self.frames}


@dataclass
class TrackLog:
    """Tracks in order of confirmation, and confirmed people per analysed frame."""

    tracks: list[Track] = field(default_factory=list)
    times_ns: list[int] = field(default_factory=list)   # receive time of each frame
    people: list[int] = field(default_factory=list)     # confirmed tracks in each frame
    passes: int = 1
    span_ns: int = 0        # stamp time covered, summed over passes
    _last_stamp: int | None = None
    _live: dict[int, Track] = field(default_factory=dict)   # by id, this pass

    def add(self, stamp_ns: int, log_time_ns: int, poses: list[Pose]) -> None:
        if self._last_stamp is not None and stamp_ns < self._last_stamp:
            self.passes += 1            # the tracker reset: ids start again at 1
            self._live = {}
        elif self._last_stamp is not None:
            self.span_ns += stamp_ns - self._last_stamp
        self._last_stamp = stamp_ns
        ids = [int(p.track_id) for p in poses if p.track_id != UNTRACKED]
        self.times_ns.append(log_time_ns)
        self.people.append(len(ids))
        for track_id in ids:
            seen = self._live.get(track_id)
            if seen is None:
                seen = self._live[track_id] = Track(self.passes - 1, track_id, stamp_ns,
                                                    stamp_ns, log_time_ns, log_time_ns, 0)
                self.tracks.append(seen)
            seen.last_stamp_ns, seen.last_time_ns = stamp_ns, log_time_ns
            seen.frames += 1

    def statistics(self) -> dict:
        """Summary entries; ``tracks_per_minute`` over the stamps' span (fragments on vtest)."""
        durations = np.array([(t.last_stamp_ns - t.first_stamp_ns) / 1e9 for t in self.tracks])
        people = np.asarray(self.people, dtype=np.float64)
        span_s = self.span_ns / 1e9
        return {
            "count": len(self.tracks),
            "passes": self.passes,
            "duration_s_mean": float(durations.mean()) if durations.size else None,
            "duration_s_median": float(np.median(durations)) if durations.size else None,
            "duration_s_max": float(durations.max()) if durations.size else None,
            "frames_per_track_mean": (float(np.mean([t.frames for t in self.tracks]))
                                      if self.tracks else None),
            "tracks_per_minute": (60 * len(self.tracks) / span_s if span_s else None),
            "people_per_frame_mean": float(people.mean()) if people.size else 0.0,
            "people_per_frame_max": int(people.max()) if people.size else 0,
            "people_per_second": self.people_per_second(),
            "tracks": [t.to_dict() for t in self.tracks[:MAX_TRACKS_LISTED]],
            "tracks_listed": min(len(self.tracks), MAX_TRACKS_LISTED),
        }

    def people_per_second(self) -> list[int]:
        """Most confirmed people in a frame, per second of receive time since the first frame."""
        if not self.times_ns:
            return []
        t = np.asarray(self.times_ns, dtype=np.int64)
        bins = (t - t.min()) // 1_000_000_000
        out = np.zeros(int(bins.max()) + 1, dtype=np.int64)
        np.maximum.at(out, bins, np.asarray(self.people, dtype=np.int64))
        return out.tolist()
