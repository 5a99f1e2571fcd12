"""Whom the robot follows, over sequences of frames: a confirmed person, changed on a held claim.

People are a real PoseNet detection (reaction_poses.py), moved and given track ids; the
defaults under test are TargetConfig's own (switch_frames, target_timeout).
"""
from __future__ import annotations

from posenet_ros.reactions.config import FollowConfig, GestureConfig, TargetConfig
from posenet_ros.reactions.person import Frame
from posenet_ros.reactions.reactor import Reactor, TARGET
import pytest
from reaction_poses import detect_person, HEIGHT, person, place, raise_arm, WIDTH

FOLLOW = FollowConfig(enabled=True)
TARGETS = TargetConfig()
GESTURES = GestureConfig()
DT = 0.125      # exact in binary: "unseen for target_timeout" falls on a frame, not near one


@pytest.fixture(scope="module")
def pose():
    return detect_person()


def frame(step: int, *people) -> Frame:
    return Frame(100.0 + step * DT, WIDTH, HEIGHT, people)


def acquisitions(reaction) -> list[int]:
    return [e.track_id for e in reaction.events if e.kind == TARGET and e.started]


def losses(reaction) -> list[int]:
    return [e.track_id for e in reaction.events if e.kind == TARGET and not e.started]


def test_a_tentative_person_is_never_the_target(pose):
    reactor = Reactor(follow=FOLLOW)
    tentative = person(pose, place(pose.positions, WIDTH / 2.0), track_id=0, distance=2.5)
    runs = [reactor.step(frame(i, tentative)) for i in range(10)]   # a tentative track, or
    assert all(r.target is None and not r.events and r.command.reason == "no target"
               for r in runs)                                        # tracking off
    near = person(pose, place(pose.positions, 200.0), track_id=0, distance=1.9)
    far = person(pose, place(pose.positions, 450.0), track_id=4, distance=3.0)
    runs = [reactor.step(frame(10 + i, near, far)) for i in range(TARGETS.switch_frames)]
    assert [r.target for r in runs] == [None] * (TARGETS.switch_frames - 1) + [1]
    assert acquisitions(runs[-1]) == [4]     # the tracked one, though the other is nearer


def test_the_nearest_must_hold_its_claim_for_switch_frames(pose):
    reactor = Reactor(follow=FOLLOW)
    left = person(pose, place(pose.positions, 200.0), track_id=1, distance=2.50)
    right = person(pose, place(pose.positions, 450.0), track_id=2, distance=2.52)
    left_far = person(pose, place(pose.positions, 200.0), track_id=1, distance=2.54)
    for i in range(12):            # depth noise: the nearest alternates every frame
        reaction = reactor.step(frame(i, left if i % 2 else left_far, right))
        assert reaction.target is None and not reaction.events
    runs = [reactor.step(frame(12 + i, left_far, right)) for i in range(TARGETS.switch_frames)]
    assert [acquisitions(r) for r in runs] == [[]] * (TARGETS.switch_frames - 1) + [[2]]
    assert runs[-1].target == 1


def test_an_unseen_target_is_kept_until_target_timeout(pose):
    reactor = Reactor(follow=FOLLOW)
    target = person(pose, place(pose.positions, 200.0), track_id=1, distance=3.0)
    nearer = person(pose, place(pose.positions, 450.0), track_id=2, distance=2.0)
    step = 0
    for _ in range(TARGETS.switch_frames):
        last = reactor.step(frame(step, target))
        step += 1
    assert acquisitions(last) == [1]
    for _ in range(5):
        last = reactor.step(frame(step, target))
        step += 1
    assert last.command.linear > 0
    kept = round(TARGETS.target_timeout / DT)        # unseen for exactly target_timeout
    for _ in range(kept):
        gone = reactor.step(frame(step, nearer))
        step += 1
        assert gone.target is None and not gone.events
        assert (gone.command.linear, gone.command.angular, gone.command.reason) == (
            0.0, 0.0, "target not seen")
    back = reactor.step(frame(step, target, nearer))
    step += 1
    assert back.target == 0 and not back.events
    runs = [reactor.step(frame(step + i, nearer)) for i in range(kept + 10)]
    assert [i for i, r in enumerate(runs) if losses(r)] == [kept]     # one frame beyond
    assert [(i, acquisitions(r)) for i, r in enumerate(runs) if acquisitions(r)] == [
        (kept + TARGETS.switch_frames - 1, [2])]


def test_a_raised_hand_takes_the_target_once_held(pose):
    reactor = Reactor(GESTURES, TARGETS, FOLLOW)
    first = person(pose, place(pose.positions, 160.0, 0.8), track_id=1, distance=3.0)
    nearer = person(pose, place(pose.positions, 480.0), track_id=2, distance=2.0)
    calling = person(pose, raise_arm(place(pose.positions, 480.0), "right"), track_id=2,
                     distance=2.0)
    step = 0
    for _ in range(TARGETS.switch_frames):
        reactor.step(frame(step, first))
        step += 1
    for _ in range(10):            # a nearer person walks in: the tracked target stays
        assert reactor.step(frame(step, first, nearer)).target == 0
        step += 1
    held = GESTURES.on_frames + TARGETS.switch_frames - 1   # confirm, then hold the claim
    brief = [reactor.step(frame(step + i, first, calling)) for i in range(held - 1)]
    step += held - 1
    assert all(r.target == 0 for r in brief)
    assert reactor.step(frame(step, first)).target == 0     # the caller hidden for a frame
    step += 1
    runs = [reactor.step(frame(step + i, first, calling))
            for i in range(TARGETS.switch_frames)]           # the claim holds again from 1
    assert [r.target for r in runs] == [0] * (TARGETS.switch_frames - 1) + [1]
    assert (TARGET, True, 2) in [(e.kind, e.started, e.track_id) for e in runs[-1].events]
    assert runs[-1].command.linear == pytest.approx(FOLLOW.max_linear_accel * DT)  # from rest


def test_two_raised_hands_do_not_swap_the_target_back_and_forth(pose):
    reactor = Reactor(GESTURES, TARGETS, FOLLOW)
    a = person(pose, raise_arm(place(pose.positions, 160.0), "left"), track_id=1, distance=3.0)
    b_down = person(pose, place(pose.positions, 480.0), track_id=2, distance=2.5)
    b = person(pose, raise_arm(place(pose.positions, 480.0), "right"), track_id=2,
               distance=2.5)
    targets = [reactor.step(frame(i, a, b_down)).target for i in range(10)]
    assert targets[-1] == 0
    targets = [reactor.step(frame(10 + i, a, b)).target for i in range(40)]
    switch = targets.index(1)
    assert switch == GESTURES.on_frames + TARGETS.switch_frames - 2
    assert targets[switch:] == [1] * (40 - switch)     # a's hand is still up: no claim


def test_a_tentative_raised_hand_is_no_claim(pose):
    reactor = Reactor(GESTURES, TARGETS, FOLLOW)
    first = person(pose, place(pose.positions, 160.0), track_id=1, distance=3.0)
    tentative = person(pose, raise_arm(place(pose.positions, 480.0), "right"), track_id=0,
                       distance=2.0)
    runs = [reactor.step(frame(i, first, tentative)) for i in range(30)]
    assert {r.target for r in runs[TARGETS.switch_frames - 1:]} == {0}
    assert [a for r in runs for a in acquisitions(r)] == [1]


def test_time_going_back_forgets_the_target(pose):
    reactor = Reactor(follow=FOLLOW)
    ahead = person(pose, place(pose.positions, 300.0), track_id=1, distance=3.0)
    for i in range(10):
        reactor.step(frame(i, ahead))
    replay = reactor.step(frame(0, ahead))
    assert losses(replay) == [1] and replay.command.linear == 0.0
