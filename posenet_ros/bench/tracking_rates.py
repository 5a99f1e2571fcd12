"""Re-entry and newcomer rates: does a person coming back get their old id, a new one a new id.

In a ``reenter`` scene person 1 leaves the image and comes back within ``reid_max_age``: the
scene succeeds when the id most often on them after their longest absence is the one most
often on them before it (scenes whose absence exceeds ``reid_max_age``, as the drawn gap
plus the walk out of and back into view can, are not judged). In a ``newcomer`` scene person
1 leaves at a side and a person never seen before (the highest identity) enters there within
``reid_max_age``: the scene succeeds when the id most often on the newcomer is none of the
ids given before the newcomer appeared. Ids are read through the scoring's matching (IoU >=
0.5, one matching per frame); a scene where the detector never finds the person on one side
of the absence (or the newcomer at all) cannot be judged and is counted apart.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import numpy as np

from posenet_ros.bench.tracking_eval import match
from posenet_ros.stages.track.config import TrackerConfig

REID_MAX_AGE = TrackerConfig().reid_max_age


def _majority(ids: list[int]) -> int | None:
    return Counter(ids).most_common(1)[0][0] if ids else None


def identities(frames: Sequence[tuple], make_tracker: Callable, images=None
               ) -> list[tuple[float, dict[int, int], set[int]]]:
    """Run a fresh tracker; per frame: (stamp, {person: confirmed id on them}, ids given)."""
    tracker = make_tracker()
    out = []
    for k, (stamp, poses, truth) in enumerate(frames):
        extra = {} if images is None else {"image": images[k]}
        if getattr(tracker, "sees_truth", False):    # the association ceiling's oracle
            extra["truth"] = truth
        hyps = [(i, b) for i, b in tracker.update(poses, stamp, **extra) if i > 0]
        pairs = match(np.array([t[1] for t in truth]).reshape(-1, 4),
                      np.array([b for _, b in hyps]).reshape(-1, 4))
        out.append((stamp, {int(truth[r][0]): hyps[c][0] for r, c in pairs},
                    {i for i, _ in hyps}))
    return out


def reentry(frames: Sequence[tuple], seen: list, within: float = REID_MAX_AGE) -> bool | None:
    """Whether person 1 has the same id after their longest absence as before.

    None (not judged) when the absence (out of view entirely) is longer than ``within``
    seconds, or the detector never finds them on one side of it.
    """
    present = [k for k, (_, _, truth) in enumerate(frames) if any(t[0] == 1 for t in truth)]
    if len(present) < 2:
        return None
    stamps = np.array([frames[k][0] for k in present])
    cut = int(np.argmax(np.diff(stamps)))
    if stamps[cut + 1] - stamps[cut] > within:
        return None
    before = [seen[k][1][1] for k in present[:cut + 1] if 1 in seen[k][1]]
    after = [seen[k][1][1] for k in present[cut + 1:] if 1 in seen[k][1]]
    if not before or not after:
        return None
    return _majority(before) == _majority(after)


def newcomer(frames: Sequence[tuple], seen: list) -> bool | None:
    """Whether the newcomer's id is new: none given before they appeared (None: unknown)."""
    person = max((t[0] for _, _, truth in frames for t in truth), default=None)
    present = [k for k, (_, _, truth) in enumerate(frames)
               if any(t[0] == person for t in truth)]
    if person is None or not present:
        return None
    ids = [seen[k][1][person] for k in present if person in seen[k][1]]
    if not ids:
        return None
    earlier = set().union(*(seen[k][2] for k in range(present[0])))
    return _majority(ids) not in earlier


JUDGES = {"reenter": reentry, "newcomer": newcomer}


def rates(detected: list, make_tracker: Callable, images: Callable | None = None
          ) -> dict[str, dict[str, int]]:
    """{kind: {"scenes", "judged", "kept"}} over the reenter and newcomer scenes of ``detected``.

    ``images(seed)`` gives a scene's frames to trackers that take them (re-identification).
    """
    out = {kind: {"scenes": 0, "judged": 0, "kept": 0} for kind in JUDGES}
    for seed, kind, frames in detected:
        if kind not in JUDGES:
            continue
        seen = identities(frames, make_tracker, images(seed) if images else None)
        verdict = JUDGES[kind](frames, seen)
        out[kind]["scenes"] += 1
        out[kind]["judged"] += verdict is not None
        out[kind]["kept"] += bool(verdict)
    return out
