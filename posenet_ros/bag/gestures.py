"""Gestures in a recording: who raised a hand, put both hands up or pointed, frame by frame.

Each analysed frame's PoseArray goes through the reactions node's own reading
(:func:`~posenet_ros.reactions.person.frame_from_pose_array`, values rounded to float32 as the
node receives them) and its detector with hysteresis (:func:`~posenet_ros.reactions.gestures.
observe`, :class:`~posenet_ros.reactions.gestures.GestureTracker`, keyed as the node keys
people), so a bag analysed offline names the gestures the node would have confirmed on the
same recording. A gesture counts from the frame that confirms it to the last frame it is held.
A header stamp earlier than the previous frame's starts a new pass (as :class:`~posenet_ros.
bag.tracks.TrackLog` does): the tracker's ids restart, so gesture state is forgotten.

Only tracked people (``track_id`` > 0) are reported: an untracked person has no identity to
attach a gesture to. Written as ``gestures.csv``: one row per frame per tracked person holding
a confirmed gesture (``stamp, stamp_ns, frame, pass, track_id, gesture, side``).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from posenet_ros.core.pose import UNTRACKED
from posenet_ros.core.stamps import NS_PER_S, stamp_ns, stamp_text
from posenet_ros.reactions.config import GestureConfig
from posenet_ros.reactions.gestures import GESTURES, GestureTracker, HAND_RAISED, HANDS_UP
from posenet_ros.reactions.gestures import observe
from posenet_ros.reactions.person import frame_from_pose_array, Person

RAISED = (HAND_RAISED, HANDS_UP)     # a raised hand: one, or both
GESTURE_COLUMNS = ("stamp", "stamp_ns", "frame", "pass", "track_id", "gesture", "side")
MAX_SPANS_LISTED = 1000


@dataclass
class GestureSpan:
    """One person's frames with one confirmed gesture, within a pass."""

    pass_index: int
    track_id: int
    gesture: str
    first_stamp_ns: int
    last_stamp_ns: int
    frames: int = 1

    def to_dict(self) -> dict:
        return {"pass": self.pass_index, "id": self.track_id, "gesture": self.gesture,
                "first_stamp_ns": self.first_stamp_ns, "last_stamp_ns": self.last_stamp_ns,
                "frames": self.frames}


class GestureLog:
    """Confirmed gestures per frame and per person, and their CSV (``path``; None: none)."""

    def __init__(self, config: GestureConfig, path: Path | None = None) -> None:
        self.config = config
        self.tracker = GestureTracker(config)
        self.spans: dict[tuple[int, int, str], GestureSpan] = {}
        self.frames_with = dict.fromkeys(GESTURES, 0)
        self.passes = 1
        self._last_stamp: int | None = None
        self._file = path.open("x", newline="", encoding="utf-8") if path else None
        self._csv = csv.writer(self._file) if self._file else None
        if self._csv:
            self._csv.writerow(GESTURE_COLUMNS)

    def add(self, frame: int, msg) -> dict[int, str]:
        """Feed one frame's PoseArray; return {track id: confirmed gesture} in that frame."""
        ns = stamp_ns(msg.header)
        if self._last_stamp is not None and ns < self._last_stamp:
            self.passes += 1
            self.tracker.reset()
        self._last_stamp = ns
        people = [_as_sent(p) for p in
                  frame_from_pose_array(msg, max_poses=max(1, len(msg.poses))).people]
        keys = [person.key(index) for index, person in enumerate(people)]
        self.tracker.update([(key, person.track_id, observe(person, self.config))
                             for key, person in zip(keys, people)])
        held: dict[int, str] = {}
        for key, person in zip(keys, people):
            active = self.tracker.active(key)
            if active is None or person.track_id == UNTRACKED:
                continue
            held[person.track_id] = active.gesture
            self._count(ns, person.track_id, active.gesture)
            if self._csv:
                self._csv.writerow((stamp_text(*divmod(ns, NS_PER_S)), ns, frame, self.passes - 1,
                                    person.track_id, active.gesture, active.side))
        for gesture in set(held.values()):
            self.frames_with[gesture] += 1
        return held

    def _count(self, stamp_ns: int, track_id: int, gesture: str) -> None:
        key = (self.passes - 1, track_id, gesture)
        span = self.spans.get(key)
        if span is None:
            self.spans[key] = GestureSpan(self.passes - 1, track_id, gesture, stamp_ns, stamp_ns)
        else:
            span.last_stamp_ns, span.frames = stamp_ns, span.frames + 1

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()

    def statistics(self) -> dict:
        """``summary["gestures"]``: settings, people per gesture, frames, each person's span."""
        spans = sorted(self.spans.values(), key=lambda s: (s.first_stamp_ns, s.track_id))
        people = {g: len({(s.pass_index, s.track_id) for s in spans if s.gesture == g})
                  for g in GESTURES}
        raised = {(s.pass_index, s.track_id) for s in spans if s.gesture in RAISED}
        return {"settings": asdict(self.config), "people": people,
                "people_raised_a_hand": len(raised), "frames_with": dict(self.frames_with),
                "spans": [s.to_dict() for s in spans[:MAX_SPANS_LISTED]],
                "spans_listed": min(len(spans), MAX_SPANS_LISTED)}


def _as_sent(person: Person) -> Person:
    """Round every value to float32, as a subscriber receives the person."""
    def f32(array):
        return None if array is None else np.asarray(array, np.float32).astype(np.float64)
    return replace(person, keypoints=f32(person.keypoints), scores=f32(person.scores),
                   points=f32(person.points), position=f32(person.position))
