"""Gestures robots are commonly given, from one person's keypoints, with hysteresis.

Per frame, :func:`observe` sees at most one gesture per person, in this order:

- ``hands_up``: both wrists above their shoulders by ``raise_margin`` of the torso length
  (shoulder to hip; shoulder width when the hips are not seen): "stop";
- ``hand_raised``: one wrist raised that way: attention, a greeting;
- ``pointing``: a straight arm (shoulder-wrist distance at least ``pointing_straightness``
  of the arm's length) held at least ``pointing_elevation_deg`` from hanging down; its
  direction is the shoulder-to-wrist unit vector in 3D (optical frame) when both points
  have depth, else in the image (x right, y down, z = 0).

Image y points down in both the image and the optical frame, so "above" is a smaller y.
Sides are the person's own (PoseNet's leftWrist is the person's left hand).

:class:`GestureTracker` confirms a gesture after ``on_frames`` consecutive frames and ends
it after ``off_frames`` without it, so one noisy frame neither starts nor ends one.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
import math

import numpy as np
from posenet_ros.core.keypoints import PART_IDS
from posenet_ros.reactions.config import GestureConfig
from posenet_ros.reactions.person import Person

HANDS_UP, HAND_RAISED, POINTING = "hands_up", "hand_raised", "pointing"
GESTURES = (HANDS_UP, HAND_RAISED, POINTING)
# side -> (shoulder, elbow, wrist, hip)
ARMS = {side: tuple(PART_IDS[side + part] for part in ("Shoulder", "Elbow", "Wrist", "Hip"))
        for side in ("left", "right")}


@dataclass(frozen=True, eq=False)
class Observation:
    """A gesture seen in one frame."""

    gesture: str
    side: str                          # "left", "right" or "both"
    direction: np.ndarray | None = None   # pointing: unit vector
    direction_3d: bool = False


@dataclass(frozen=True, eq=False)
class GestureEvent:
    """A gesture confirmed (``started``) or ended for the person with ``key``."""

    key: Hashable
    track_id: int
    gesture: str
    started: bool
    observation: Observation


def observe(person: Person, config: GestureConfig) -> Observation | None:
    """Return the gesture ``person`` makes in this frame, or None."""
    seen = person.scores >= config.min_keypoint_score
    xy = person.keypoints
    scale = _torso_length(xy, seen)
    if scale is None:
        return None
    raised = [side for side, (shoulder, _, wrist, _) in ARMS.items()
              if seen[shoulder] and seen[wrist]
              and xy[wrist, 1] < xy[shoulder, 1] - config.raise_margin * scale]
    if len(raised) == 2:
        return Observation(HANDS_UP, "both")
    if raised:
        return Observation(HAND_RAISED, raised[0])
    pointing = [(elevation, side) for side in ARMS
                if (elevation := _pointing_elevation(xy, seen, ARMS[side], config)) is not None]
    if not pointing:
        return None
    _, side = max(pointing)
    shoulder, _, wrist, _ = ARMS[side]
    valid = person.valid
    if person.points is not None and valid is not None and valid[shoulder] and valid[wrist]:
        vector, in_3d = person.points[wrist] - person.points[shoulder], True
    else:
        vector, in_3d = np.append(xy[wrist] - xy[shoulder], 0.0), False
    norm = np.linalg.norm(vector)
    if not norm > 0:
        return None
    return Observation(POINTING, side, vector / norm, in_3d)


def _torso_length(xy: np.ndarray, seen: np.ndarray) -> float | None:
    lengths = [np.linalg.norm(xy[hip] - xy[shoulder])
               for shoulder, _, _, hip in ARMS.values() if seen[shoulder] and seen[hip]]
    if lengths:
        return float(np.mean(lengths))
    left, right = ARMS["left"][0], ARMS["right"][0]
    if seen[left] and seen[right]:
        return float(np.linalg.norm(xy[left] - xy[right])) or None
    return None


def _pointing_elevation(xy: np.ndarray, seen: np.ndarray, arm: tuple[int, int, int, int],
                        config: GestureConfig) -> float | None:
    shoulder, elbow, wrist, _ = arm
    if not (seen[shoulder] and seen[elbow] and seen[wrist]):
        return None
    length = np.linalg.norm(xy[elbow] - xy[shoulder]) + np.linalg.norm(xy[wrist] - xy[elbow])
    reach = xy[wrist] - xy[shoulder]
    if not length > 0 or np.linalg.norm(reach) < config.pointing_straightness * length:
        return None
    elevation = math.degrees(math.atan2(abs(reach[0]), reach[1]))   # 0: hanging down
    return elevation if elevation >= config.pointing_elevation_deg else None


@dataclass
class _State:
    track_id: int
    active: Observation | None = None
    pending: str | None = None
    count: int = 0
    missing: int = 0


class GestureTracker:
    """Per-person hysteresis over :func:`observe`'s results."""

    def __init__(self, config: GestureConfig) -> None:
        self.config = config
        self._states: dict[Hashable, _State] = {}

    def reset(self) -> None:
        self._states.clear()

    def active(self, key: Hashable) -> Observation | None:
        """Return the confirmed gesture of the person with ``key``, if any."""
        state = self._states.get(key)
        return state.active if state else None

    def update(self, people: Sequence[tuple[Hashable, int, Observation | None]]
               ) -> list[GestureEvent]:
        """Feed one frame's (key, track_id, observation); return gestures started or ended.

        People absent from the frame count as showing no gesture.
        """
        events: list[GestureEvent] = []
        present = {key for key, _, _ in people}
        absent = [(key, state.track_id, None) for key, state in self._states.items()
                  if key not in present]
        for key, track_id, seen in [*people, *absent]:
            state = self._states.setdefault(key, _State(track_id))
            events += self._step(key, state, seen)
            if state.active is None and state.pending is None:
                del self._states[key]
        return events

    def _step(self, key: Hashable, state: _State, seen: Observation | None
              ) -> list[GestureEvent]:
        events = []
        name = seen.gesture if seen else None
        if state.active is not None and name == state.active.gesture:
            state.active, state.missing, state.pending, state.count = seen, 0, None, 0
            return events
        if state.active is not None:
            state.missing += 1
        if name is None:
            state.pending, state.count = None, 0
        elif name == state.pending:
            state.count += 1
        else:
            state.pending, state.count = name, 1
        if state.pending is not None and state.count >= self.config.on_frames:
            if state.active is not None:
                events.append(GestureEvent(key, state.track_id, state.active.gesture, False,
                                           state.active))
            events.append(GestureEvent(key, state.track_id, name, True, seen))
            state.active, state.missing, state.pending, state.count = seen, 0, None, 0
        elif state.active is not None and state.missing >= self.config.off_frames:
            events.append(GestureEvent(key, state.track_id, state.active.gesture, False,
                                       state.active))
            state.active, state.missing = None, 0
        return events
