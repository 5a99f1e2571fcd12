"""Whom to follow: only a confirmed person, and a change only when a claim holds.

Only a tracked person (``track_id`` > 0) can be the target: a tentative track (id 0) cannot
be recognised in the next frame. People whose 3D position the caller refused (a depth error)
cannot become the target either. Per frame:

1. the target is kept while its track is seen. Unseen, it stays the target (the robot
   stops; nobody takes its place by being nearest) until ``target_timeout`` seconds of
   stamps have passed; then it is lost;
2. a claim names who would take over: with ``raise_to_switch``, a person whose raised hand
   was confirmed while not the target (the nearest of them if several); the claim lasts
   while the hand stays up (and while the caller is unseen, up to ``target_timeout``) and
   is spent once granted, so two people holding a hand up do not swap the target back and
   forth. Without such a claim and only while there is no
   target: the nearest candidate, by 3D distance among people with a position, else the
   tallest in the image; candidates are everyone (policy ``nearest``) or only people with a
   confirmed raised hand (``attention``);
3. the claimant becomes the target once the same person has claimed ``switch_frames``
   frames in a row.
"""
from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

from posenet_ros.reactions.config import TargetConfig
from posenet_ros.reactions.person import Person


@dataclass
class _Target:
    key: Hashable
    track_id: int
    seen: float             # stamp (s) of the last frame it was in


class TargetSelector:
    """The target between frames, its timeout, and the claim being counted."""

    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self._target: _Target | None = None
        self._raise_claims: dict[Hashable, float] = {}   # key -> stamp last seen raised
        self._claimant: Hashable | None = None
        self._count = 0

    def reset(self) -> None:
        """Forget the target and every claim (time went back)."""
        self._target, self._claimant, self._count = None, None, 0
        self._raise_claims.clear()

    @property
    def current(self) -> tuple[Hashable, int] | None:
        """(key, track_id) of the target, seen or not; None without one."""
        return None if self._target is None else (self._target.key, self._target.track_id)

    def update(self, people: Sequence[Person], stamp: float, raised_now: Collection[int],
               raised: Collection[int], refused: Collection[int] = (),
               min_score: float = 0.0) -> int | None:
        """Index of the target among ``people`` (None: no target, or not in this frame).

        ``raised_now`` and ``raised`` are indices of people whose raised hand was confirmed
        this frame / is active; ``refused`` those that must not become the target.
        """
        tracked = {person.key(i): i for i, person in enumerate(people) if person.tracked}
        eligible = [i for i in tracked.values() if i not in refused]
        target = self._target
        if target is not None and target.key in tracked:
            target.seen = stamp
        elif target is not None and stamp - target.seen > self.config.target_timeout:
            self._target = target = None
        self._update_raise_claims(people, stamp, raised_now, raised)
        callers = [i for i in eligible if people[i].key(i) in self._raise_claims]
        claimant = None
        if callers:
            claimant = _nearest(people, callers, min_score)
        elif target is None:
            candidates = ([i for i in eligible if i in raised]
                          if self.config.policy == "attention" else eligible)
            claimant = _nearest(people, candidates, min_score)
        self._count_claim(None if claimant is None else people[claimant].key(claimant))
        if claimant is not None and self._count >= self.config.switch_frames:
            key = people[claimant].key(claimant)
            self._target = _Target(key, people[claimant].track_id, stamp)
            self._raise_claims.pop(key, None)
            self._claimant, self._count = None, 0
        return None if self._target is None else tracked.get(self._target.key)

    def _update_raise_claims(self, people: Sequence[Person], stamp: float,
                             raised_now: Collection[int], raised: Collection[int]) -> None:
        """Open claims on confirmation; end them when the hand is down or the caller gone.

        A caller missing from a few frames keeps the claim (its count starts again on its
        return), for as long as a target would be kept.
        """
        claims = self._raise_claims
        if self.config.raise_to_switch:
            mine = self._target.key if self._target is not None else None
            for i in raised_now:
                if people[i].tracked and people[i].key(i) != mine:
                    claims[people[i].key(i)] = stamp
        for i, person in enumerate(people):
            key = person.key(i)
            if key in claims:
                if i in raised:
                    claims[key] = stamp
                else:
                    del claims[key]                # the hand is down
        for key in [k for k, seen in claims.items()
                    if stamp - seen > self.config.target_timeout]:
            del claims[key]

    def _count_claim(self, key: Hashable | None) -> None:
        if key is None:
            self._claimant, self._count = None, 0
        elif key == self._claimant:
            self._count += 1
        else:
            self._claimant, self._count = key, 1


def _nearest(people: Sequence[Person], indices: Collection[int], min_score: float
             ) -> int | None:
    with_depth = [i for i in indices if people[i].distance() is not None]
    if with_depth:
        return min(with_depth, key=lambda i: people[i].distance())
    sized = [i for i in indices if people[i].height_px(min_score) > 0]
    return max(sized, key=lambda i: people[i].height_px(min_score)) if sized else None
