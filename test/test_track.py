"""PoseTracker: life cycle in stamp time, hostile input, smoothing (real detected poses)."""
from __future__ import annotations

import numpy as np
from posenet_ros.bench.tracking_cost import crowd, real_template
from posenet_ros.core.pose import Pose
from posenet_ros.stages.track.assignment import assign
from posenet_ros.stages.track.config import TrackerConfig, TrackerError
from posenet_ros.stages.track.similarity import box_iou, COCO_SIGMAS, keypoint_boxes, oks
from posenet_ros.stages.track.tracker import PoseTracker
import pytest


@pytest.fixture(scope="module")
def person() -> Pose:
    return real_template()


def moved(pose: Pose, dx: float, dy: float = 0.0, scores=None) -> Pose:
    return Pose(pose.score, pose.positions + [dx, dy],
                pose.keypoint_scores if scores is None else scores)


def ids(results) -> list[int]:
    return [r.track_id for r in results]


def run(tracker, frames, stamps):
    return [ids(tracker.update(f, s)) for f, s in zip(frames, stamps)]


def test_birth_after_min_hits_then_stable_ids(person):
    tracker = PoseTracker(TrackerConfig(min_hits=3))
    frames = [[moved(person, 10 * i), moved(person, 400 - 10 * i, 200)] for i in range(8)]
    got = run(tracker, frames, [0.1 * i for i in range(8)])
    assert got[0] == got[1] == [0, 0]          # tentative: output, id 0
    assert got[2:] == [[1, 2]] * 6
    last = tracker.update(frames[-1], 0.8)
    assert last[0].hits == 9 and last[0].age == pytest.approx(0.8)


def test_death_in_stamp_seconds_not_frames(person):
    cfg = TrackerConfig(min_hits=1, max_age=1.0)
    tracker = PoseTracker(cfg)
    assert ids(tracker.update([person], 0.0)) == [1]
    for k in range(50):                         # many empty frames within 0.9 s
        assert tracker.update([], 0.01 + 0.9 * k / 50) == []
    assert ids(tracker.update([person], 0.95)) == [1]
    assert ids(tracker.update([person], 2.0)) == [2]       # 1.05 s unseen: a new track


def test_same_ids_at_any_rate_and_with_dropped_frames(person):
    walk = [[moved(person, 15 * i), moved(person, 600 - 15 * i, 30)] for i in range(30)]
    stamps = [i / 10 for i in range(30)]
    full = run(PoseTracker(), walk, stamps)
    kept = [i for i in range(30) if i % 3 != 1]
    dropped = run(PoseTracker(), [walk[i] for i in kept], [stamps[i] for i in kept])
    assert full[-1] == dropped[-1] == [1, 2]


def test_backwards_stamp_resets_and_restarts_ids(person):
    tracker = PoseTracker(TrackerConfig(min_hits=1))
    first = run(tracker, [[person, moved(person, 300)]] * 3, [5.0, 5.1, 5.2])
    assert first[-1] == [1, 2]
    again = run(tracker, [[moved(person, 300)]], [0.0])     # a bag restart
    assert again == [[1]]


def test_identical_stamps_match_without_advancing_time(person):
    tracker = PoseTracker(TrackerConfig(min_hits=2, smoothing=True))
    tracker.update([person], 1.0)
    dup = tracker.update([person], 1.0)
    assert ids(dup) == [0] and dup[0].hits == 1            # no hit from the same instant
    assert ids(tracker.update([moved(person, 3)], 1.1)) == [1]
    held = tracker.update([moved(person, 40)], 1.1)
    prev = tracker.update([moved(person, 3)], 1.1)
    confident = person.keypoint_scores >= TrackerConfig().keypoint_threshold
    np.testing.assert_array_equal(held[0].pose.positions[confident],
                                  prev[0].pose.positions[confident])
    np.testing.assert_array_equal(held[0].pose.positions[~confident],   # raw when unsure
                                  held[0].raw.positions[~confident])


def test_empty_frames_and_one_to_thirty_people(person):
    tracker = PoseTracker(TrackerConfig(min_hits=1))
    assert tracker.update([], 0.0) == []
    assert ids(tracker.update([person], 0.1)) == [1]
    crowd30 = [person] + [moved(person, 260 * (k % 6) + 260, 300 * (k // 6)) for k in range(29)]
    out = tracker.update(crowd30, 0.2)
    assert len(out) == 30 and out[0].track_id == 1
    assert sorted(ids(out)) == list(range(1, 31))
    assert ids(tracker.update([person], 0.3)) == [1]


def test_nan_and_zero_score_keypoints(person):
    tracker = PoseTracker(TrackerConfig(min_hits=1, smoothing=True))
    nan_pose = Pose(0.5, np.full((17, 2), np.nan), np.full(17, np.nan))
    zero = moved(person, 500, scores=np.zeros(17))
    out = tracker.update([nan_pose, person, zero], 0.0)
    assert out[0].track_id == 0 and np.isnan(out[0].box).all()   # nothing to track
    assert out[1].track_id == 1
    assert out[2].track_id == 2 and np.isfinite(out[2].box).all()  # its raw extent
    half = person.positions.copy()
    half[:8] = np.nan
    out = tracker.update([nan_pose, Pose(0.5, half, person.keypoint_scores)], 0.1)
    assert ids(out) == [0, 1]
    assert np.isnan(out[1].pose.positions[:8]).all()
    assert np.isfinite(out[1].pose.positions[8:]).all()


def test_bad_stamps_and_settings_raise_clear_errors(person):
    with pytest.raises(TrackerError, match="stamp"):
        PoseTracker().update([person], float("nan"))
    for bad in ({"min_hits": 0}, {"max_age": 0.0}, {"min_similarity": 2.0},
                {"min_keypoints": 18}, {"max_tracks": 1.5}, {"beta": -1.0}):
        with pytest.raises(TrackerError):
            TrackerConfig(**bad)
    with pytest.raises(TrackerError, match="unknown"):
        TrackerConfig().replace(speed=1)


def test_max_tracks_leaves_the_rest_untracked(person):
    tracker = PoseTracker(TrackerConfig(min_hits=1, max_tracks=2))
    out = tracker.update([moved(person, 300 * k) for k in range(4)], 0.0)
    assert ids(out) == [1, 2, 0, 0]


def test_low_score_keypoint_does_not_drag_the_smoothed_one(person):
    cfg = TrackerConfig(min_hits=1, smoothing=True)
    low = person.keypoint_scores.copy()
    low[0] = 0.05

    def sequence(outlier: bool):
        tracker = PoseTracker(cfg)
        tracker.update([person], 0.0)
        tracker.update([moved(person, 4)], 0.1)
        jump = moved(person, 8, scores=low)
        if outlier:
            positions = jump.positions.copy()
            positions[0] += 300                  # a wild, low-score nose
            jump = Pose(jump.score, positions, low)
        mid = tracker.update([jump], 0.2)[0]
        return mid, tracker.update([moved(person, 12)], 0.3)[0]

    mid_a, after_a = sequence(outlier=True)
    mid_b, after_b = sequence(outlier=False)
    np.testing.assert_array_equal(mid_a.pose.positions[0], mid_a.raw.positions[0])
    np.testing.assert_array_equal(after_a.pose.positions[0], after_b.pose.positions[0])
    assert after_a.pose.keypoint_scores is after_a.raw.keypoint_scores


def test_smoothing_reduces_jitter_of_a_still_person(person):
    rng = np.random.default_rng(2)
    tracker = PoseTracker(TrackerConfig(min_hits=1, smoothing=True))
    raw, smooth = [], []
    for i in range(60):
        p = Pose(person.score, person.positions + rng.normal(0, 2.0, (17, 2)),
                 person.keypoint_scores)
        out = tracker.update([p], i / 10)[0]
        raw.append(out.raw.positions)
        smooth.append(out.pose.positions)
    assert np.std(smooth[20:], axis=0).mean() < 0.6 * np.std(raw[20:], axis=0).mean()


def test_crowd_ids_stable_with_smoothing(person):
    frames = crowd(person, 10, 40)
    tracker = PoseTracker(TrackerConfig(smoothing=True))
    got = run(tracker, frames, [i / 10 for i in range(40)])
    assert got[-1] == list(range(1, 11)) and all(g == got[-1] for g in got[2:])


def test_similarity_and_assignment_pieces():
    pts = np.stack([np.linspace(0, 50, 17), np.linspace(0, 100, 17)], axis=1)[None]
    valid = np.ones((1, 17), bool)
    area = np.array([50.0 * 100.0])
    assert oks(pts, valid, pts, valid, area, 4)[0, 0] == pytest.approx(1.0)
    d = 10.0
    want = np.mean(np.exp(-d ** 2 / (2 * (area[0] + 1e-6) * (2 * COCO_SIGMAS) ** 2)))
    assert oks(pts + [d, 0], valid, pts, valid, area, 4)[0, 0] == pytest.approx(want)
    few = valid.copy()
    few[0, 3:] = False
    assert oks(pts, few, pts, valid, area, 4)[0, 0] == 0.0
    box = keypoint_boxes(pts, valid)
    np.testing.assert_allclose(box, [[0, 0, 50, 100]])
    assert box_iou(box, box + [25, 0, 25, 0])[0, 0] == pytest.approx(1 / 3)
    # Greedy would take 0.9 and leave 0.1; optimal takes 0.8 + 0.8.
    assert sorted(assign(np.array([[0.9, 0.8], [0.8, 0.1]]), 0.2)) == [(0, 1), (1, 0)]
    assert assign(np.array([[0.1]]), 0.2) == [] and assign(np.zeros((0, 3)), 0.2) == []


def test_track_smoother_equals_the_scalar_one_euro_port():
    from posenet_ros.filters.one_euro import OneEuroFilter, OneEuroFilterConfig
    from posenet_ros.stages.track.smoothing import TrackSmoother
    config = OneEuroFilterConfig(min_cutoff=1.0, beta=2.0, derivate_cutoff=1.0)
    rng = np.random.default_rng(4)
    smoother = TrackSmoother(config, 5)
    slots = np.array([3, 1])
    scalar = {}
    stamp = 0.0
    for step in range(40):
        if step == 25:                      # slot 1 becomes a new track
            smoother.start(np.array([1]))
            scalar = {k: f for k, f in scalar.items() if k[0] != 1}
        stamp += rng.choice([0.033, 0.1, 0.5])
        planes = rng.normal(100, 20, size=(2, 2, 17))
        valid = rng.random((2, 17)) > 0.2
        scales = np.array([150.0, 0.0 if step % 7 == 3 else 80.0])
        got = smoother.apply(slots, planes, valid, scales, stamp, same_stamp=False)
        for t, slot in enumerate(slots.tolist()):
            for axis in range(2):
                for k in range(17):
                    want = planes[t, axis, k]
                    if valid[t, k] and scales[t] > 0:
                        f = scalar.setdefault((slot, axis, k), OneEuroFilter(config))
                        want = f.apply(want, stamp * 1e6, 1.0 / scales[t])
                    assert got[t, axis, k] == want


def test_fast_people_are_confirmed_and_cross_without_a_swap(person):
    # About 0.25 body heights a frame (running at 10 fps): beyond OKS's reach of a track
    # with no velocity yet; the centre stage gives it its second frame.
    height = np.ptp(person.positions[:, 1])
    step = 0.25 * height
    tracker = PoseTracker()
    got = run(tracker, [[moved(person, step * i), moved(person, 16 * step - step * i, 20)]
                        for i in range(17)], [i / 10 for i in range(17)])
    assert got[2] == [1, 2]
    # Frame 8: the two coincide, 20 px apart, keypoint for keypoint: one is a duplicate of
    # the other (OKS >= duplicate_oks) and goes out untracked; no id changes hands.
    assert got[8] in ([1, 2], [1, 0])
    assert all(g == [1, 2] for g in got[2:8] + got[9:])


def test_centre_stage_reaches_only_as_far_as_a_person_can_go(person):
    height = np.ptp(person.positions[:, 1])
    tracker = PoseTracker(TrackerConfig(min_hits=2))
    tracker.update([person], 0.0)
    # 1.5 heights in 0.1 s is 15 heights/s: not the same person, a new tentative track.
    assert ids(tracker.update([moved(person, 1.5 * height)], 0.1)) == [0]
    assert ids(tracker.update([moved(person, 1.5 * height + 0.2 * height)], 0.2)) == [1]
