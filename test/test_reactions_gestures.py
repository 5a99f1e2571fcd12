"""Gestures from a real detection, composed into raised and pointing arms, with hysteresis."""
from __future__ import annotations

import numpy as np
from posenet_ros.core.config import ConfigError
from posenet_ros.reactions.config import FollowConfig, GestureConfig, TargetConfig
from posenet_ros.reactions.gestures import (
    GestureTracker, HAND_RAISED, HANDS_UP, observe, POINTING)
import pytest
from reaction_poses import detect_person, person, point_arm, raise_arm

CONFIG = GestureConfig()


@pytest.fixture(scope="module")
def pose():
    return detect_person()


def test_the_real_pose_makes_no_gesture(pose):
    assert observe(person(pose), CONFIG) is None


def test_both_hands_up(pose):
    xy = raise_arm(raise_arm(pose.positions, "left"), "right")
    seen = observe(person(pose, xy), CONFIG)
    assert (seen.gesture, seen.side) == (HANDS_UP, "both")


@pytest.mark.parametrize("side", ["left", "right"])
def test_one_hand_raised(pose, side):
    seen = observe(person(pose, raise_arm(pose.positions, side)), CONFIG)
    assert (seen.gesture, seen.side) == (HAND_RAISED, side)


def test_pointing_in_2d_and_3d(pose):
    xy = point_arm(pose.positions, "right")      # right arm: towards the image's left
    flat = observe(person(pose, xy), CONFIG)
    assert (flat.gesture, flat.side, flat.direction_3d) == (POINTING, "right", False)
    np.testing.assert_allclose(flat.direction, [-1.0, 0.0, 0.0], atol=1e-9)
    deep = observe(person(pose, xy, distance=2.0), CONFIG)
    assert deep.direction_3d
    np.testing.assert_allclose(deep.direction, [-1.0, 0.0, 0.0], atol=1e-9)


def test_hidden_wrists_make_no_gesture(pose):
    scores = pose.keypoint_scores.copy()
    scores[[9, 10]] = 0.0
    xy = raise_arm(raise_arm(pose.positions, "left"), "right")
    hidden = person(pose, xy)
    hidden = type(hidden)(1, xy, scores)
    assert observe(hidden, CONFIG) is None


def test_hysteresis_ignores_one_noisy_frame(pose):
    tracker = GestureTracker(GestureConfig(on_frames=3, off_frames=2))
    up = observe(person(pose, raise_arm(pose.positions, "left")), CONFIG)
    sequence = [up, None, up, up, up, None, up, None, None, None]
    events = [tracker.update([("p", 7, seen)]) for seen in sequence]
    started = [i for i, frame in enumerate(events) for e in frame if e.started]
    ended = [i for i, frame in enumerate(events) for e in frame if not e.started]
    assert started == [4]          # frames 2-4 confirm it; frame 0 alone did not
    assert ended == [8]            # one missing frame (5) did not end it; 7, 8 did
    assert events[4][0].track_id == 7 and events[4][0].gesture == HAND_RAISED


def test_a_person_who_leaves_ends_the_gesture(pose):
    tracker = GestureTracker(GestureConfig(on_frames=1, off_frames=2))
    up = observe(person(pose, raise_arm(pose.positions, "left")), CONFIG)
    assert tracker.update([("p", 1, up)])[0].started
    assert tracker.update([]) == []
    [end] = tracker.update([])
    assert not end.started and tracker.active("p") is None


@pytest.mark.parametrize("cls,change", [
    (GestureConfig, {"on_frames": 0}), (GestureConfig, {"raise_margin": float("nan")}),
    (TargetConfig, {"policy": "loudest"}), (FollowConfig, {"max_linear": -1.0}),
    (FollowConfig, {"min_distance": 2.0}), (FollowConfig, {"pose_timeout": "1"})])
def test_settings_are_checked(cls, change):
    with pytest.raises(ConfigError):
        cls(**change)
