"""Scripted pose streams through the Reactor: each step's command is what the rules say."""
from __future__ import annotations

import math

from posenet_ros.reactions.config import FollowConfig, GestureConfig, TargetConfig
from posenet_ros.reactions.person import Frame
from posenet_ros.reactions.reactor import Reactor, TARGET
import pytest
from reaction_poses import detect_person, HEIGHT, person, place, raise_arm, WIDTH

FOLLOW = FollowConfig(enabled=True)
# Target on the first frame and lost on the first frame unseen, so these tests see the follow
# law alone; test_reactions_target.py covers the target's confirmation and timeout.
AT_ONCE = TargetConfig(switch_frames=1, target_timeout=0.0)
DT = 0.1


def reactor_for(follow: FollowConfig = FOLLOW, gestures: GestureConfig = GestureConfig()
                ) -> Reactor:
    return Reactor(gestures, AT_ONCE, follow)


@pytest.fixture(scope="module")
def pose():
    return detect_person()


def frame(step: int, *people) -> Frame:
    return Frame(100.0 + step * DT, WIDTH, HEIGHT, people)


def test_speed_ramps_within_limits_to_the_keep_distance_law(pose):
    reactor = reactor_for()
    ahead = person(pose, place(pose.positions, WIDTH / 2.0), distance=3.0)
    speeds = [reactor.step(frame(i, ahead)).command for i in range(30)]
    wanted = min(FOLLOW.linear_gain * (3.0 - FOLLOW.keep_distance - FOLLOW.distance_band / 2),
                 FOLLOW.max_linear)
    for i, command in enumerate(speeds):
        assert command.linear == pytest.approx(min(i * FOLLOW.max_linear_accel * DT, wanted))
        assert abs(command.angular) < 0.02 * FOLLOW.max_angular
    assert speeds[-1].reason == "following"


def test_person_moves_left_turns_left_and_right_turns_right(pose):
    reactor = reactor_for()
    left = person(pose, place(pose.positions, 100.0), distance=2.5)
    turns = [reactor.step(frame(i, left)).command.angular for i in range(15)]
    assert turns[0] == 0.0 and all(b >= a for a, b in zip(turns, turns[1:]))
    bearing = math.atan2(-left.position[0], left.position[2])
    assert bearing > 0
    assert turns[-1] == pytest.approx(min(FOLLOW.angular_gain * bearing, FOLLOW.max_angular))
    right = person(pose, place(pose.positions, 560.0), distance=2.5)
    step = FOLLOW.max_angular_accel * DT    # reversing: to zero at once, then one ramp step
    assert reactor.step(frame(15, right)).command.angular == pytest.approx(-step)
    assert reactor.step(frame(16, right)).command.angular == pytest.approx(-2 * step)


def test_too_close_and_inside_the_band_give_no_forward_motion(pose):
    reactor = reactor_for()
    far = person(pose, place(pose.positions, WIDTH / 2.0), distance=3.0)
    for i in range(10):
        assert reactor.step(frame(i, far)).command.linear > 0 or i == 0
    close = person(pose, place(pose.positions, WIDTH / 2.0), distance=0.6)
    command = reactor.step(frame(10, close)).command
    assert (command.linear, command.reason) == (0.0, "too close")
    band = person(pose, place(pose.positions, WIDTH / 2.0), distance=FOLLOW.keep_distance)
    assert reactor.step(frame(11, band)).command.linear == 0.0


def test_hands_up_stops_on_the_same_frame(pose):
    reactor = reactor_for()
    walking = person(pose, place(pose.positions, WIDTH / 2.0), distance=3.0)
    for i in range(10):
        reactor.step(frame(i, walking))
    hands = raise_arm(raise_arm(place(pose.positions, WIDTH / 2.0), "left"), "right")
    stopped = reactor.step(frame(10, person(pose, hands, distance=3.0)))
    assert (stopped.command.linear, stopped.command.angular) == (0.0, 0.0)
    assert stopped.command.reason == "hands up"


def test_hands_up_of_anyone_stops(pose):
    reactor = reactor_for()
    target = person(pose, place(pose.positions, 200.0), track_id=1, distance=3.0)
    hands = raise_arm(raise_arm(place(pose.positions, 450.0), "left"), "right")
    other = person(pose, hands, track_id=2, distance=4.0)
    for i in range(5):
        reactor.step(frame(i, target))
    assert reactor.step(frame(5, target, other)).command.reason == "hands up"


def test_lost_target_and_no_depth(pose):
    reactor = reactor_for()
    ahead = person(pose, place(pose.positions, 200.0), distance=3.0)
    for i in range(5):
        reactor.step(frame(i, ahead))
    lost = reactor.step(frame(5))
    assert (lost.command.linear, lost.command.angular, lost.command.reason) == (
        0.0, 0.0, "no target")
    assert [(e.kind, e.started) for e in lost.events] == [(TARGET, False)]
    flat = person(pose, place(pose.positions, 200.0))
    commands = [reactor.step(frame(6 + i, flat)).command for i in range(5)]
    assert all(c.linear == 0.0 and c.reason == "no depth: turning only" for c in commands)
    assert commands[-1].angular > 0          # the person is left of centre


def test_disabled_timeout_and_time_going_back(pose):
    ahead = person(pose, place(pose.positions, 200.0), distance=3.0)
    off = reactor_for(FollowConfig())
    assert all(off.step(frame(i, ahead)).command.reason == "disabled" for i in range(5))
    reactor = reactor_for()
    for i in range(10):
        reactor.step(frame(i, ahead))
    assert reactor.timeout().linear == 0.0
    assert reactor.step(frame(10, ahead)).command.linear == pytest.approx(
        FOLLOW.max_linear_accel * DT)            # ramps again from rest
    assert reactor.step(frame(0, ahead)).command.linear == 0.0   # bag looped: from rest
