"""Stable person ids across frames: the tracker's settings and life cycle.

Each frame's poses are matched to the live tracks by keypoint similarity (OKS against the
tracks' motion-predicted keypoints, box IoU when too few keypoints are shared) with an
optimal assignment.
Time is the frames' stamps, never frame counts, so a recording replayed
at any rate, or with frames dropped, gives the same ids.

Life cycle (all in stamp seconds):

- birth: a detection no track claims starts a tentative track; it is confirmed, and gets
  the next id, once matched in ``min_hits`` frames (of distinct stamps) in a row. Until then
  its pose is output with id 0 rather than withheld: the person is real to a consumer that
  does not care about identity, and 0 marks it as not yet trustworthy.
- death: a tentative track dies on its first unmatched frame; a confirmed one when
  ``max_age`` seconds of stamps have passed since its last match.
- reset: a stamp earlier than the previous one (a looping video, a bag restarted, sim time
  reset) drops every track and restarts ids at 1, so a replay gets the ids of the first pass.
- identical stamps: a frame at the previous frame's stamp is matched like any other, but
  time does not advance: it adds no hits, no velocity, no smoothing step.

Smoothing is off by default: the message keypoints then stay the model's output (the
bag tool, the node and TF.js parity compare them), and a robot reacting to a gesture gets no
filter lag. Turned on, a One Euro filter per keypoint follows each track (1 Hz at rest; the
cutoff rises with speed measured in person sizes per second, ``beta``).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
import math
from typing import Sequence

import numpy as np

from posenet_ros.filters.one_euro import OneEuroFilterConfig
from posenet_ros.keypoints import NUM_KEYPOINTS
from posenet_ros.pose import Pose
from posenet_ros.track import motion
from posenet_ros.track.assignment import assign
from posenet_ros.track.similarity import box_iou, keypoint_boxes, oks
from posenet_ros.track.smoothing import TrackSmoother
from posenet_ros.track.tracked_pose import TrackedPose, UNTRACKED

# Bounds shared with the ROS parameter ranges.
MIN_HITS_RANGE = (1, 30)
MAX_AGE_RANGE = (0.01, 60.0)
MAX_TRACKS_RANGE = (1, 1000)
CUTOFF_RANGE = (0.001, 100.0)
BETA_RANGE = (0.0, 1000.0)


class TrackerError(ValueError):
    """A tracker setting or input is invalid; the message says which."""


@dataclass(frozen=True)
class TrackerConfig:
    """How people are tracked. Matching defaults are pose-detection 2.1.3's keypoint tracker's.

    ``min_similarity`` (0.2), ``keypoint_threshold`` (0.3) and ``min_keypoints`` (4) are
    pose-detection's ``DEFAULT_KEYPOINT_TRACKER_CONFIG``; ``max_age`` is its 1 s, in stamp
    seconds. ``max_tracks`` caps live tracks (a detection beyond it stays untracked).
    ``motion`` predicts tracks at constant velocity. ``smoothing`` turns the One Euro filter
    on, with ``min_cutoff``/``d_cutoff`` in Hz and ``beta`` per person-size per second.
    """

    min_hits: int = 3
    max_age: float = 1.0
    min_similarity: float = 0.2
    keypoint_threshold: float = 0.3
    min_keypoints: int = 4
    max_tracks: int = 100
    motion: bool = True
    smoothing: bool = False
    min_cutoff: float = 1.0
    beta: float = 2.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        _check("min_hits", self.min_hits, MIN_HITS_RANGE, integer=True)
        _check("max_age", self.max_age, MAX_AGE_RANGE)
        _check("min_similarity", self.min_similarity, (0.0, 1.0))
        _check("keypoint_threshold", self.keypoint_threshold, (0.0, 1.0))
        _check("min_keypoints", self.min_keypoints, (1, NUM_KEYPOINTS), integer=True)
        _check("max_tracks", self.max_tracks, MAX_TRACKS_RANGE, integer=True)
        _check("min_cutoff", self.min_cutoff, CUTOFF_RANGE)
        _check("beta", self.beta, BETA_RANGE)
        _check("d_cutoff", self.d_cutoff, CUTOFF_RANGE)

    def replace(self, **changes) -> TrackerConfig:
        """Return a validated copy with ``changes`` applied; unknown names raise TrackerError."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TrackerError(f"unknown tracker setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def filter_config(self) -> OneEuroFilterConfig:
        """Return the One Euro settings of the keypoint filters."""
        return OneEuroFilterConfig(min_cutoff=self.min_cutoff, beta=self.beta,
                                   derivate_cutoff=self.d_cutoff)


def _check(name: str, value, bounds, integer: bool = False) -> None:
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise TrackerError(f"{name} must be an integer, got {value!r}")
    if not (isinstance(value, (int, float)) and bounds[0] <= value <= bounds[1]):
        raise TrackerError(f"{name} {value!r} is out of range [{bounds[0]}, {bounds[1]}]")


class PoseTracker:
    """Tracks the people of one stream. :meth:`update` once per frame, in stamp order."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        cap = self.config.max_tracks
        self._smoother = TrackSmoother(self.config.filter_config(), cap)
        self._positions = np.zeros((cap, NUM_KEYPOINTS, 2))
        self._valid = np.zeros((cap, NUM_KEYPOINTS), dtype=bool)
        self._boxes = np.zeros((cap, 4))
        self._velocity = np.zeros((cap, 2))
        self._has_velocity = np.zeros(cap, dtype=bool)
        self._seen = np.zeros(cap)        # stamp of the last match
        self._born = np.zeros(cap)        # stamp of the first frame
        self._hits = np.zeros(cap, dtype=np.int64)
        self._ids = np.zeros(cap, dtype=np.int64)   # 0 while tentative
        self._active = np.zeros(cap, dtype=bool)
        self._last_stamp: float | None = None
        self._next_id = 1

    def reset(self) -> None:
        """Drop every track; ids start again at 1."""
        self._active[:] = False
        self._smoother.start()
        self._last_stamp = None
        self._next_id = 1

    def update(self, poses: Sequence[Pose], stamp_seconds: float) -> list[TrackedPose]:
        """Match ``poses`` (one frame, seen at ``stamp_seconds``) to tracks.

        Returns one :class:`TrackedPose` per input pose, in input order. Raises TrackerError
        for a stamp that is not a finite number.
        """
        stamp = float(stamp_seconds)
        if not math.isfinite(stamp):
            raise TrackerError(f"stamp {stamp_seconds!r} is not a finite number of seconds")
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()
        same = self._last_stamp is not None and stamp == self._last_stamp
        self._last_stamp = stamp
        cfg = self.config
        positions, scores = _stack(poses)
        valid = (scores >= cfg.keypoint_threshold) & np.isfinite(positions).all(axis=2)
        boxes = keypoint_boxes(positions, valid)
        # Confirmed tracks too long unseen die before they can be matched.
        self._active &= ~((self._ids > 0) & (stamp - self._seen > cfg.max_age))
        live = np.flatnonzero(self._active)
        predicted, predicted_boxes = self._predict(live, stamp)
        similarity = oks(positions, valid, predicted, self._valid[live],
                         _areas(predicted_boxes), cfg.min_keypoints)
        similarity = np.where(similarity > 0, similarity, box_iou(boxes, predicted_boxes))
        pairs = assign(similarity, cfg.min_similarity)
        slots = np.full(len(poses), -1, dtype=np.int64)
        dets = np.array([d for d, _ in pairs], dtype=np.int64)
        slots[dets] = live[np.array([t for _, t in pairs], dtype=np.int64)]
        claimed = np.zeros(len(self._active), dtype=bool)
        claimed[slots[dets]] = True
        unmatched = live[~claimed[live]]
        self._active[unmatched[self._ids[unmatched] == UNTRACKED]] = False
        born = self._births(np.flatnonzero(slots < 0), boxes, stamp)
        slots[born[0]] = born[1]
        new = np.concatenate([dets, born[0]])
        self._match(slots[new], positions[new], valid[new], boxes[new], stamp, same, born[1])
        return self._results(poses, positions, valid, boxes, slots, stamp, same)

    def _predict(self, live: np.ndarray, stamp: float) -> tuple[np.ndarray, np.ndarray]:
        positions, boxes = self._positions[live], self._boxes[live]
        if not self.config.motion or len(live) == 0:
            return positions, boxes
        velocity = np.where(self._has_velocity[live, None], self._velocity[live], 0.0)
        dt = stamp - self._seen[live]
        moved = motion.predict(positions, velocity, dt, self.config.max_age)
        shift = moved[:, 0] - positions[:, 0]
        return moved, boxes + np.concatenate([shift, shift], axis=1)

    def _match(self, slots: np.ndarray, positions: np.ndarray, valid: np.ndarray,
               boxes: np.ndarray, stamp: float, same: bool, born: np.ndarray) -> None:
        """Update the tracks ``slots`` with their detections; confirm those due."""
        if not same:
            measured, ok = motion.measure_velocity(
                self._positions[slots], self._valid[slots], positions, valid,
                stamp - self._seen[slots])
            blended = motion.blend_velocity(self._velocity[slots], measured,
                                            self._has_velocity[slots])
            self._velocity[slots] = np.where(ok[:, None], blended, self._velocity[slots])
            self._has_velocity[slots] |= ok
            self._hits[slots] += 1
            self._seen[slots] = stamp
        elif len(born):
            self._hits[born] = 1
            self._seen[born] = stamp
        self._positions[slots], self._valid[slots], self._boxes[slots] = positions, valid, boxes
        due = slots[(self._ids[slots] == UNTRACKED) & (self._hits[slots] >= self.config.min_hits)]
        self._ids[due] = np.arange(self._next_id, self._next_id + len(due))
        self._next_id += len(due)

    def _births(self, dets: np.ndarray, boxes: np.ndarray,
                stamp: float) -> tuple[np.ndarray, np.ndarray]:
        """Start tentative tracks for ``dets`` in free slots: (detections, slots) started."""
        dets = dets[np.isfinite(boxes[dets]).all(axis=1)]
        free = np.flatnonzero(~self._active)[:len(dets)]
        dets = dets[:len(free)]
        self._active[free] = True
        self._ids[free] = UNTRACKED
        self._hits[free] = 0
        self._valid[free] = False          # no previous keypoints: no velocity measured
        self._has_velocity[free] = False
        self._velocity[free] = 0.0
        self._born[free] = stamp
        self._seen[free] = stamp
        self._smoother.start(free)
        return dets, free

    def _results(self, poses, positions, valid, boxes, slots, stamp, same):
        """One TrackedPose per input pose, smoothing the tracked ones when it is on."""
        tracked = np.flatnonzero(slots >= 0)
        smooth = self.config.smoothing and len(tracked) > 0
        if smooth:
            rows = slots[tracked]
            scales = (boxes[tracked, 2] - boxes[tracked, 0]
                      + boxes[tracked, 3] - boxes[tracked, 1]) / 2
            positions = positions.copy()
            positions[tracked] = self._smoother.apply(
                rows, positions[tracked], valid[tracked],
                np.where(np.isfinite(scales), scales, 0.0), stamp, same)
        ids = np.where(slots >= 0, self._ids[slots], UNTRACKED).tolist()
        ages = np.where(slots >= 0, stamp - self._born[slots], 0.0).tolist()
        hits = np.where(slots >= 0, self._hits[slots], 0).tolist()
        out = []
        for i, (raw, box) in enumerate(zip(poses, boxes.tolist())):
            pose = Pose(raw.score, positions[i], raw.keypoint_scores) if (
                smooth and slots[i] >= 0) else raw
            out.append(TrackedPose(ids[i], pose, raw, tuple(box), ages[i], hits[i]))
        return out


def _stack(poses: Sequence[Pose]) -> tuple[np.ndarray, np.ndarray]:
    if len(poses) == 0:
        return np.zeros((0, NUM_KEYPOINTS, 2)), np.zeros((0, NUM_KEYPOINTS))
    positions = np.array([p.positions for p in poses], dtype=np.float64)
    scores = np.array([p.keypoint_scores for p in poses], dtype=np.float64)
    return positions, scores   # a NaN score fails every threshold test


def _areas(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
