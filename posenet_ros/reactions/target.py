"""Whom to follow: keep the current person while tracked, else the nearest (or who waved).

Order of the rules:

1. with ``raise_to_switch``, a person whose raised hand was confirmed this frame becomes the
   target (the nearest of them if several): raising a hand is how one calls the robot;
2. the current target stays while its ``track_id`` is in the frame (an untracked person,
   id 0, cannot be recognised in the next frame, so it is chosen afresh every frame);
3. otherwise the nearest candidate: by 3D distance among people with a position, else the
   tallest in the image. Candidates are everyone (policy ``nearest``) or only people with
   a confirmed raised hand (``attention``).
"""
from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence

from posenet_ros.reactions.config import TargetConfig
from posenet_ros.reactions.person import Person


def select_target(people: Sequence[Person], current: Hashable | None,
                  raised_now: Collection[int], raised: Collection[int], config: TargetConfig,
                  min_score: float) -> int | None:
    """Index of the target among ``people``, or None.

    ``current`` is the key (:meth:`Person.key`) of the last target; ``raised_now`` and
    ``raised`` are indices of people whose raised hand was confirmed this frame / is active.
    """
    if config.raise_to_switch and raised_now:
        return _nearest(people, raised_now, min_score)
    for index, person in enumerate(people):
        if person.tracked and person.key(index) == current:
            return index
    candidates = raised if config.policy == "attention" else range(len(people))
    return _nearest(people, candidates, min_score)


def _nearest(people: Sequence[Person], indices: Collection[int], min_score: float
             ) -> int | None:
    with_depth = [i for i in indices if people[i].distance() is not None]
    if with_depth:
        return min(with_depth, key=lambda i: people[i].distance())
    sized = [i for i in indices if people[i].height_px(min_score) > 0]
    return max(sized, key=lambda i: people[i].height_px(min_score)) if sized else None
