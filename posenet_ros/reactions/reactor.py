"""One step of the behaviour per PoseArray: gestures, target, command, events.

A "stop" is acted on at once: any person's ``hands_up`` in the current frame zeroes the
command on that frame, before hysteresis confirms it (a false stop costs a pause, a missed
one a collision); the confirmed gesture then holds the stop until it has been gone for
``off_frames`` frames. Every other gesture waits for confirmation.

A person whose 3D position is impossible (:func:`.follow.position_problem`) cannot become the
target; when the target has one, the command is zero. Each such person is named in the
reaction's ``warnings`` for the caller to log.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable

import numpy as np
from posenet_ros.reactions.config import FollowConfig, GestureConfig, TargetConfig
from posenet_ros.reactions.follow import (
    Command, desired, finite, limit, position_problem, stop)
from posenet_ros.reactions.gestures import (
    GestureEvent, GestureTracker, HAND_RAISED, HANDS_UP, observe)
from posenet_ros.reactions.person import Frame, Person
from posenet_ros.reactions.target import TargetSelector

TARGET = "target"   # event kind: the followed person changed (started: acquired, else lost)


@dataclass(frozen=True, eq=False)
class Event:
    """Something a robot stack may want to hear about one person."""

    kind: str                       # a gesture name, or TARGET
    started: bool                   # gesture confirmed / target acquired; False: ended / lost
    track_id: int
    side: str = ""                  # gestures: "left", "right", "both"
    direction: np.ndarray | None = None   # pointing: unit vector
    direction_3d: bool = False
    position: np.ndarray | None = None    # the person's 3D position, when known


@dataclass(frozen=True)
class Reaction:
    command: Command
    events: tuple[Event, ...]
    target: int | None              # index of the target in the frame's people
    warnings: tuple[str, ...] = ()  # people at impossible positions, by track id and value


class Reactor:
    """Holds what must persist between frames: gesture hysteresis, the target, the command."""

    def __init__(self, gestures: GestureConfig = GestureConfig(),
                 target: TargetConfig = TargetConfig(),
                 follow: FollowConfig = FollowConfig()) -> None:
        self.gestures, self.target_config, self.follow = gestures, target, follow
        self._tracker = GestureTracker(gestures)
        self._selector = TargetSelector(target)
        self._target: tuple[Hashable, int] | None = None   # (key, track_id) last reported
        self._command = stop("starting")
        self._stamp: float | None = None
        self._now: float | None = None

    def configure(self, gestures: GestureConfig | None = None,
                  target: TargetConfig | None = None,
                  follow: FollowConfig | None = None) -> None:
        """Swap settings at run time; gesture and target state carry over."""
        self.gestures = gestures or self.gestures
        self.target_config = target or self.target_config
        self.follow = follow or self.follow
        self._tracker.config = self.gestures
        self._selector.config = self.target_config

    def timeout(self) -> Command:
        """Poses stopped arriving: stop, and start the next ramp from rest."""
        self._command = stop("no poses for pose_timeout")
        return self._command

    def step(self, frame: Frame, now: float | None = None) -> Reaction:
        """React to one frame of people, received at ``now`` (s of the caller's clock).

        Acceleration limits use the shorter of the stamps' and ``now``'s interval: a
        publisher whose stamps run ahead of time cannot make the robot speed up faster.
        """
        dt = 0.0
        if self._stamp is not None:
            dt = frame.stamp - self._stamp
            if dt < 0:     # time went back (a bag looped): forget everything
                self._tracker.reset()
                self._selector.reset()
                self._command = stop("time went back")
            if now is not None and self._now is not None:
                dt = min(dt, now - self._now)
            if not 0 <= dt <= self.follow.pose_timeout:
                dt = 0.0
        self._stamp, self._now = frame.stamp, now
        people = list(frame.people)
        keys = [person.key(index) for index, person in enumerate(people)]
        seen = [observe(person, self.gestures) for person in people]
        gesture_events = self._tracker.update(
            [(key, person.track_id, obs) for key, person, obs in zip(keys, people, seen)])
        raised_now = [keys.index(e.key) for e in gesture_events
                      if e.started and e.gesture == HAND_RAISED and e.key in keys]
        raised = [i for i, key in enumerate(keys)
                  if (active := self._tracker.active(key)) and active.gesture == HAND_RAISED]
        problems = {i: problem for i, person in enumerate(people)
                    if (problem := position_problem(person.position, self.follow))}
        index = self._selector.update(people, frame.stamp, raised_now, raised, problems,
                                      self.gestures.min_keypoint_score)
        events = [self._gesture_event(e, people, keys) for e in gesture_events]
        target_events = self._target_events(people, index)
        if target_events:      # a new person: ramp up from rest, not from the last speed
            self._command = stop("target changed")
        events += target_events
        hands_up = any(obs is not None and obs.gesture == HANDS_UP for obs in seen) or any(
            (active := self._tracker.active(key)) and active.gesture == HANDS_UP
            for key in keys)
        warnings = tuple(f"track {people[i].track_id}: {problem}"
                         for i, problem in problems.items())
        return Reaction(self._command_for(frame, people, index, hands_up, dt, problems),
                        tuple(events), index, warnings)

    def _command_for(self, frame: Frame, people: list[Person], index: int | None,
                     hands_up: bool, dt: float, problems: dict[int, str]) -> Command:
        if not self.follow.enabled:
            wanted = stop("disabled")
        elif hands_up:
            wanted = stop("hands up")
        elif index is None:
            wanted = stop("no target" if self._target is None else "target not seen")
        elif index in problems:
            wanted = stop("target position impossible")
        else:
            wanted = finite(limit(self._command, desired(
                people[index], frame.image_width, self.follow,
                self.gestures.min_keypoint_score), dt, self.follow))
        self._command = wanted
        return wanted

    def _target_events(self, people: list[Person], index: int | None) -> list[Event]:
        new = self._selector.current
        if new == self._target:
            return []
        events = []
        if self._target is not None:
            events.append(Event(TARGET, False, self._target[1]))
        if new is not None:
            position = people[index].position if index is not None else None
            events.append(Event(TARGET, True, new[1], position=position))
        self._target = new
        return events

    @staticmethod
    def _gesture_event(event: GestureEvent, people: list[Person], keys: list) -> Event:
        position = people[keys.index(event.key)].position if event.key in keys else None
        seen = event.observation
        return Event(event.gesture, event.started, event.track_id, seen.side, seen.direction,
                     seen.direction_3d, position)
