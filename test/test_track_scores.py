"""Score-aware tracking (issue 19): duplicates, weak poses, occlusion, on a real detected pose.

PoseNet's multi-pose decoder returns low-score copies of a person beside them; before issue
19 such a copy started its own track and took the id of a person walking behind another.
Each test that shows the fix also runs :class:`TrackerBefore` (the association before it)
where that tracker fails, so the test is seen to be able to fail.
"""
from __future__ import annotations

import numpy as np
from posenet_ros.bench.tracking_baselines import TrackerBefore
from posenet_ros.bench.tracking_cost import real_template
from posenet_ros.core.pose import Pose
from posenet_ros.stages.track.config import TrackerConfig, TrackerError
from posenet_ros.stages.track.tracker import PoseTracker
import pytest
from track_frames import on_canvas


@pytest.fixture(scope="module")
def person() -> Pose:
    return real_template()


@pytest.fixture(scope="module")
def height(person) -> float:
    return float(np.ptp(person.positions[:, 1]))


def at(pose: Pose, dx: float, dy: float = 0.0, score: float | None = None) -> Pose:
    return Pose(pose.score if score is None else score, pose.positions + [dx, dy],
                pose.keypoint_scores)


def ids(results) -> list[int]:
    return [r.track_id for r in results]


def jitter(pose: Pose, rng, pixels: float, score: float) -> Pose:
    """Return a decoder duplicate: the same person's keypoints moved a little, a low pose score."""
    return Pose(score, pose.positions + rng.normal(0, pixels, (17, 2)), pose.keypoint_scores)


def test_low_score_duplicate_gets_no_id_and_steals_nothing(person):
    rng = np.random.default_rng(0)
    out_new, out_old = [], []
    trackers = (PoseTracker(), TrackerBefore(TrackerConfig()))
    for i in range(30):
        walker = at(person, 8 * i)
        frame = [jitter(walker, rng, 3.0, 0.05), walker]   # the copy listed first
        if i % 3 == 0:
            frame.reverse()
        for tracker, out in zip(trackers, (out_new, out_old)):
            got = tracker.update(frame, i / 10)
            out.append({r.raw.score: r.track_id for r in got})
    assert all(o[0.05] == 0 for o in out_new)
    assert [o[person.score] for o in out_new[2:]] == [1] * 28
    assert any(o[0.05] > 0 for o in out_old)    # before: the copy was a confirmed track


def test_weak_pose_never_starts_a_track_nor_takes_a_confident_match(person, height):
    tracker = PoseTracker(TrackerConfig(min_hits=1, duplicate_oks=1.0))
    far = at(person, 3 * height, score=0.2)       # weak, alone: never a track
    assert ids(tracker.update([at(person, 0), far], 0.0)) == [1, 0]
    for i in range(1, 6):
        # The weak pose sits exactly where track 1 is predicted, the confident one 2 px off:
        # the confident pose still keeps the track, the weak one stays untracked.
        weak = at(person, 0, score=0.2)
        got = tracker.update([weak, at(person, 2.0 * (i % 2)), at(far, 0, 0)], i / 10)
        assert ids(got) == [0, 1, 0]


def test_weak_pose_continues_its_track_below_min_pose_score_it_is_ignored(person):
    config = TrackerConfig(min_hits=1, min_pose_score=0.1, high_pose_score=0.3)
    tracker = PoseTracker(config)
    assert ids(tracker.update([person], 0.0)) == [1]
    assert ids(tracker.update([at(person, 5, score=0.15)], 0.1)) == [1]   # half hidden
    assert ids(tracker.update([at(person, 10, score=0.05)], 0.2)) == [0]  # not tracked
    assert ids(tracker.update([at(person, 15)], 0.3)) == [1]              # still alive


def crossing(person: Pose, height: float, hidden: tuple[float, float], copy: bool,
             frames: int = 40, fps: float = 10.0):
    """Return frames where A walks right and B left, behind A, unseen while ``hidden`` (s).

    With ``copy``, a low-score copy of A, a third of a height towards B's side, comes out
    while B is hidden, as PoseNet's decoder does beside an occluder: it sits where B's track
    is predicted as B goes behind A.
    """
    rng = np.random.default_rng(1)
    step = 0.05 * height
    sequence = []
    for i in range(frames):
        t = i / fps
        a = at(person, step * i)
        b = at(person, step * (frames - i), -0.04 * height)
        frame = [a]
        if hidden[0] <= t < hidden[1]:
            if copy:
                frame.append(jitter(at(a, 0.35 * height), rng, 2.0, 0.06))
        else:
            frame.append(b)
        sequence.append((t, frame))
    return sequence


def run_ids(tracker, sequence) -> list[list[int]]:
    return [ids(tracker.update(frame, t)) for t, frame in sequence]


def test_hidden_person_is_recovered_after_passing_behind(person, height):
    sequence = crossing(person, height, (1.5, 2.3), copy=True)
    got = run_ids(PoseTracker(), sequence)
    assert got[5] == [1, 2]
    seen = [g for (t, _), g in zip(sequence, got) if not 1.5 <= t < 2.3]
    assert all(g == [1, 2] for g in seen[5:])
    hidden = [g for (t, _), g in zip(sequence, got) if 1.5 <= t < 2.3]
    assert all(g == [1, 0] for g in hidden)
    before = run_ids(TrackerBefore(TrackerConfig()), sequence)
    assert before[-1] != [1, 2]                 # before: B came out with a new id


def test_person_hidden_longer_than_max_age_gets_a_new_id(person, height):
    config = TrackerConfig(max_age=0.5)
    sequence = crossing(person, height, (1.0, 1.8), copy=False)
    got = run_ids(PoseTracker(config), sequence)
    assert got[5] == [1, 2]
    assert got[-1] == [1, 3]
    assert run_ids(PoseTracker(), sequence)[-1] == [1, 2]   # within 1 s: recovered


def test_hostile_scores_keypoints_stamps_and_crowds(person, height):
    tracker = PoseTracker(TrackerConfig(min_hits=1))
    nan_score = Pose(float("nan"), person.positions, person.keypoint_scores)
    nan_points = Pose(0.2, np.full((17, 2), np.nan), np.full(17, np.nan))
    assert ids(tracker.update([nan_score, person, nan_points], 0.0)) == [0, 1, 0]
    crowd = [at(person, 1.3 * height * (k % 6), 1.2 * height * (k // 6),
                score=0.2 if k % 2 else 0.8) for k in range(30)]
    out = tracker.update(crowd, 0.1)
    assert len(out) == 30 and out[0].track_id == 1
    assert sorted(ids(out)[0::2]) == [1] + list(range(2, 16))   # only the confident start
    assert ids(out)[1::2] == [0] * 15
    again = tracker.update(crowd, 0.1)                  # identical stamp
    assert ids(again) == ids(out)
    assert ids(tracker.update([at(person, 0, score=0.2)], 0.0)) == [0]   # backwards: reset
    assert ids(tracker.update([person], 0.05)) == [1]


def test_score_settings_are_checked():
    for bad in ({"min_pose_score": -0.1}, {"high_pose_score": 1.5}, {"duplicate_oks": 2.0},
                {"min_pose_score": 0.5, "high_pose_score": 0.4}, {"high_pose_score": -0.5}):
        with pytest.raises(TrackerError):
            TrackerConfig(**bad)
    with pytest.raises(TrackerError, match="or -1 for the model's own"):
        TrackerConfig(high_pose_score=-0.5)


def test_a_high_pose_score_left_to_the_model_is_the_models_own(person):
    from posenet_ros.families.base import PoseModel
    from posenet_ros.families.movenet.family import MoveNet
    from posenet_ros.stages.track.config import MODEL_OWN
    assert TrackerConfig().high_pose_score == MODEL_OWN
    assert MoveNet.confident_pose_score < PoseModel.confident_pose_score    # scales differ
    assert TrackerConfig().for_model(0.25).high_pose_score == 0.25
    assert TrackerConfig(high_pose_score=0.4).for_model(0.25).high_pose_score == 0.4  # set: kept
    assert TrackerConfig(min_pose_score=0.5).for_model(0.25).high_pose_score == 0.5   # never below
    # A tracker given no model takes PoseNet's (the default model): 0.27 only continues.
    assert PoseTracker().config.high_pose_score == PoseModel.confident_pose_score
    for tracker, want in ((PoseTracker(TrackerConfig(min_hits=1)), 0),
                          (PoseTracker(TrackerConfig(min_hits=1).for_model(0.25)), 1)):
        assert ids(tracker.update([at(person, 0, score=0.27)], 0.0)) == [want]


def test_reentry_after_max_age_takes_back_its_id_by_look(person, messi):
    def sequence(tracker, hue: int, image: bool) -> list[list[int]]:
        got = []
        for i in range(10):                     # walks, then leaves the image
            frame = on_canvas(messi, person, 10 * i)
            got.append(ids(tracker.update([at(person, 10 * i)], i / 10,
                                          image=frame if image else None)))
        for i in range(20):                     # 2 s away: longer than max_age
            got.append(ids(tracker.update([], 1.0 + i / 10)))
        for i in range(6):                      # comes back elsewhere
            frame = on_canvas(messi, person, 600 - 10 * i, hue, invert_saturation=True)
            got.append(ids(tracker.update([at(person, 600 - 10 * i)], 3.0 + i / 10,
                                          image=frame if image else None)))
        return got

    config = TrackerConfig(reid_max_age=3.0)
    assert sequence(PoseTracker(config), 0, image=True)[-1] == [1]
    assert sequence(PoseTracker(config), 0, image=False)[-1] == [2]   # no look: new id
    assert sequence(PoseTracker(config), 90, image=True)[-1] == [2]   # other clothes
    assert sequence(PoseTracker(config.replace(reid_max_age=0.0)), 0, True)[-1] == [2]  # off


def test_reid_max_age_counts_until_the_person_is_seen_again_not_confirmed(person, messi):
    """Back 2.9 s after last seen (< reid_max_age 3 s), confirmed 3 frames later at 5 fps."""
    tracker = PoseTracker(TrackerConfig(reid_max_age=3.0))
    for i in range(5):
        frame = on_canvas(messi, person, 10 * i)
        tracker.update([at(person, 10 * i)], i / 5, image=frame)
    last = 4 / 5
    got = []
    for i in range(4):
        frame = on_canvas(messi, person, 600 - 10 * i)
        got.append(ids(tracker.update([at(person, 600 - 10 * i)], last + 2.9 + i / 5,
                                      image=frame)))
    assert got[-2:] == [[1], [1]]      # confirmed 3.3 s after last seen: the id is back


def test_look_is_cheap_and_handles_people_at_the_border(person, messi):
    from posenet_ros.stages.track import appearance
    planes = np.stack([person.positions.T, (person.positions - [400, 250]).T])
    valid = np.ones((2, 17), dtype=bool)
    boxes = np.array([[*p.min(axis=1), *p.max(axis=1)] for p in planes])
    looks, seen = appearance.describe(messi, planes, valid, boxes)
    assert seen.all() and np.allclose(looks.sum(axis=2), 1.0)
    same = appearance.similarity(looks, seen, looks, seen)
    assert same[0, 0] == pytest.approx(1.0) and same[0, 1] < 0.95


def test_looks_decide_contested_matches_and_only_those(person, height):
    """Two people meet: keypoints alone prefer the swap; their looks keep them apart.

    A lone pose matches its track whatever its look (light changes): looks weigh a pair only
    where a pose is near two tracks or a track near two poses.
    """
    from posenet_ros.stages.track import cascade
    from posenet_ros.stages.track.similarity import encode_planes, keypoint_boxes

    def arrays(poses, fill=np.inf):     # as the tracker holds them: encoded planes
        positions = np.array([p.positions for p in poses])
        valid = np.array([p.keypoint_scores for p in poses]) >= 0.3
        planes = encode_planes(positions.transpose(0, 2, 1), valid, fill)
        return planes, valid, keypoint_boxes(positions, valid)

    gap = 0.2 * height
    tracks = arrays([at(person, 0.0), at(person, gap)], -np.inf)
    poses = arrays([at(person, 0.55 * gap), at(person, 0.45 * gap)])   # each nearer the other
    alike = np.array([[0.95, 0.5], [0.5, 0.95]])    # pose 0 looks like track 0
    calls = []

    def looks():
        calls.append(1)
        return alike

    swapped = cascade.keypoint_pairs(*poses, *tracks, 0.2, 4)
    assert list(zip(*(a.tolist() for a in swapped))) == [(0, 1), (1, 0)]   # keypoints alone
    kept = cascade.keypoint_pairs(*poses, *tracks, 0.2, 4, looks)
    assert list(zip(*(a.tolist() for a in kept))) == [(0, 0), (1, 1)] and calls
    lone = arrays([at(person, 0.05 * gap)])
    one = arrays([at(person, 0.0)], -np.inf)
    calls.clear()
    pairs = cascade.keypoint_pairs(*lone, *one, 0.2, 4, lambda: np.array([[0.2]]))
    assert [a.tolist() for a in pairs] == [[0], [0]] and not calls     # not contested
