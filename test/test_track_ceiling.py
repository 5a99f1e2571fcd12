"""The tracking eval's association ceiling, optional people, and re-entry / newcomer rates.

Frames are made from a real pose (PoseNet on messi5.jpg) moved along paths; the ground truth
is each person's keypoint box, as in the seeded scenes. Each judge is shown to fail on a
tracker that gets the identity wrong.
"""
from __future__ import annotations

import numpy as np
from posenet_ros.bench import tracking_eval, tracking_rates
from posenet_ros.bench.tracking_ceiling import Oracle, pose_boxes
from posenet_ros.bench.tracking_cost import real_template
from posenet_ros.core.pose import Pose
import pytest

pytest.importorskip("motmetrics")


@pytest.fixture(scope="module")
def person() -> Pose:
    return real_template()


def moved(pose: Pose, dx: float) -> Pose:
    return Pose(pose.score, pose.positions + [dx, 0.0], pose.keypoint_scores)


def frame(stamp: float, people: list[tuple[int, Pose, float]], missed=()) -> tuple:
    """(stamp, poses, truth): everyone in the truth, those in ``missed`` not detected."""
    truth = [(i, tuple(pose_boxes([p])[0]), seen) for i, p, seen in people]
    return stamp, [p for i, p, _ in people if i not in missed], truth


class Renamed:
    """The oracle with some identities renamed from a stamp on: a tracker that errs."""

    sees_truth = True

    def __init__(self, names: dict[int, int], after: float) -> None:
        self._oracle, self._names, self._after = Oracle(), names, after

    def update(self, poses, stamp, truth=(), image=None):
        out = self._oracle.update(poses, stamp, truth)
        return [(self._names.get(i, i) if stamp >= self._after else i, b) for i, b in out]


def idf1(frames, make) -> float:
    import motmetrics as mm

    acc, _ = tracking_eval.accumulate(frames, make)
    return float(mm.metrics.create().compute(acc, metrics=["idf1"])["idf1"].iloc[0])


def test_the_ceiling_is_the_best_idf1_on_the_detections(person):
    width = float(np.ptp(person.positions[:, 0]))
    frames = [frame(k / 10, [(1, moved(person, 4 * k), 1.0),
                             (2, moved(person, 3 * width - 4 * k), 1.0)],
                    missed=(2,) if 8 <= k < 14 else ()) for k in range(30)]
    ceiling = idf1(frames, Oracle)
    detected = 60 - 6
    assert ceiling == pytest.approx(2 * detected / (2 * detected + 6))   # misses bound it
    assert idf1(frames, tracking_eval.TRACKERS["ours, no re-id"]) <= ceiling
    assert idf1(frames, lambda: Renamed({1: 2, 2: 1}, 2.0)) < ceiling


def test_a_track_on_an_optional_person_is_neither_hit_nor_false_positive(person):
    import motmetrics as mm

    def counts(seen: float | None):
        people = [(1, person, seen if seen is not None else 1.0)]
        frames = [frame(k / 10, people) for k in range(5)]
        if seen is None:
            frames = [(t, poses, []) for t, poses, _ in frames]
        acc, _ = tracking_eval.accumulate(frames, Oracle if seen is not None else _Named)
        summary = mm.metrics.create().compute(
            acc, metrics=["num_matches", "num_false_positives", "num_misses"])
        return tuple(int(summary[m].iloc[0])
                     for m in ("num_matches", "num_false_positives", "num_misses"))

    assert counts(1.0) == (5, 0, 0)          # seen whole: required, found
    assert counts(0.3) == (0, 0, 0)          # mostly hidden or outside: optional
    assert counts(None) == (0, 5, 0)         # nobody there: a false positive


class _Named:
    """Names every pose 1 (a tracker on a person the truth does not hold)."""

    def update(self, poses, stamp, image=None):
        return [(1, tuple(b)) for b in pose_boxes(poses).tolist()]


def reenter_frames(person, absence: float) -> list[tuple]:
    """Person 1 walks, is out of view for ``absence`` seconds, and walks again; 10 fps."""
    frames, t = [], 0.0
    for k in range(10):
        frames.append(frame(t, [(1, moved(person, 4 * k), 1.0)]))
        t += 0.1
    t += absence
    for k in range(10):
        frames.append(frame(t, [(1, moved(person, 40 - 4 * k), 1.0)]))
        t += 0.1
    return frames


def test_reentry_is_judged_by_the_id_before_and_after_the_absence(person):
    frames = reenter_frames(person, 1.5)
    kept = tracking_rates.identities(frames, Oracle)
    assert tracking_rates.reentry(frames, kept) is True
    lost = tracking_rates.identities(frames, lambda: Renamed({1: 7}, 1.0))
    assert tracking_rates.reentry(frames, lost) is False
    # Without the image, ours cannot know the person again after max_age (1 s).
    ours = tracking_rates.identities(frames, tracking_eval.TRACKERS["ours, no re-id"])
    assert tracking_rates.reentry(frames, ours) is False
    longer = reenter_frames(person, tracking_rates.REID_MAX_AGE + 1.0)
    assert tracking_rates.reentry(longer, kept) is None      # beyond reid_max_age


def test_a_newcomer_must_get_an_id_never_given_before(person):
    width = float(np.ptp(person.positions[:, 0]))
    frames = [frame(k / 10, [(1, moved(person, 4 * k), 1.0), (2, moved(person, 3 * width), 1.0)])
              for k in range(10)]
    frames += [frame(1.5 + k / 10, [(2, moved(person, 3 * width), 1.0),
                                    (3, moved(person, 40 - 4 * k), 1.0)]) for k in range(10)]
    assert tracking_rates.newcomer(frames, tracking_rates.identities(frames, Oracle)) is True
    stolen = tracking_rates.identities(frames, lambda: Renamed({3: 1}, 0.0))
    assert tracking_rates.newcomer(frames, stolen) is False
