"""Hostile input to the behaviour: impossible positions, stamps running ahead, broken pixels.

People are a real PoseNet detection (reaction_poses.py); PoseArrays are made of the rosbags
typestore's classes (the package's message definitions) and read by the node's own parser.
"""
from __future__ import annotations

from dataclasses import replace
import math

import numpy as np
from posenet_ros.bag.typestore import BASE_STORE, find_msg_dir, typestore
from posenet_ros.core.keypoints import PART_NAMES
from posenet_ros.outputs.person_event import build_person_event, EventClasses
from posenet_ros.reactions.config import FollowConfig, TargetConfig
from posenet_ros.reactions.person import (
    Frame, frame_from_pose_array, MAX_POSES, Person, PosesRefused)
from posenet_ros.reactions.reactor import Event, Reactor, TARGET
import pytest
from reaction_poses import detect_person, HEIGHT, person, place, WIDTH
from rosbags.typesys import get_types_from_msg, get_typestore

FOLLOW = FollowConfig(enabled=True)
TARGETS = TargetConfig()
DT = 0.1
IMPOSSIBLE = {"nan": (np.nan, 0.0, 2.0), "inf": (0.0, np.inf, 2.0), "behind": (0.2, 0.0, -1.5),
              "on the camera plane": (1.0, 0.0, 0.0),
              "too far": (0.0, 0.0, FOLLOW.max_range * 50)}


@pytest.fixture(scope="module")
def pose():
    return detect_person()


def frame(step: int, *people) -> Frame:
    return Frame(100.0 + step * DT, WIDTH, HEIGHT, people)


def moved(who: Person, position) -> Person:
    return replace(who, position=np.array(position, dtype=np.float64))


def safe(command) -> bool:
    return (math.isfinite(command.linear) and math.isfinite(command.angular)
            and command.linear >= 0.0)


@pytest.mark.parametrize("where", IMPOSSIBLE)
def test_an_impossible_target_position_stops_the_robot_and_is_named(pose, where):
    reactor = Reactor(follow=FOLLOW)
    walking = person(pose, place(pose.positions, 200.0), track_id=7, distance=3.0)
    runs = [reactor.step(frame(i, walking)) for i in range(10)]
    assert runs[-1].command.linear > 0 and runs[-1].command.angular > 0
    broken = moved(walking, IMPOSSIBLE[where])
    for i in range(10, 15):
        reaction = reactor.step(frame(i, broken))
        assert (reaction.command.linear, reaction.command.angular) == (0.0, 0.0)
        assert reaction.command.reason == "target position impossible"
        assert len(reaction.warnings) == 1 and reaction.warnings[0].startswith("track 7: ")
        assert len(reaction.warnings[0]) < 120
    assert reaction.target == 0 and not reaction.events      # kept: a depth glitch may pass
    assert reactor.step(frame(15, walking)).command.linear > 0   # it did: follow again


@pytest.mark.parametrize("where", IMPOSSIBLE)
def test_nobody_at_an_impossible_position_becomes_the_target(pose, where):
    reactor = Reactor(follow=FOLLOW)
    broken = moved(person(pose, place(pose.positions, 200.0), track_id=3, distance=3.0),
                   IMPOSSIBLE[where])
    runs = [reactor.step(frame(i, broken)) for i in range(20)]
    assert all(r.target is None and not r.events and safe(r.command)
               and (r.command.linear, r.command.angular) == (0.0, 0.0) for r in runs)
    assert {r.warnings[0].split(": ")[0] for r in runs} == {"track 3"}
    fine = person(pose, place(pose.positions, 450.0), track_id=4, distance=4.0)
    runs = [reactor.step(frame(20 + i, broken, fine)) for i in range(TARGETS.switch_frames)]
    assert [e.track_id for e in runs[-1].events if e.kind == TARGET] == [4]


def test_stamps_running_ahead_do_not_speed_the_robot_up(pose):
    reactor = Reactor(target=TargetConfig(switch_frames=1), follow=FOLLOW)
    far = person(pose, place(pose.positions, WIDTH / 2.0), distance=6.0)
    wall = 0.02                       # frames arrive every 20 ms, stamped 0.4 s apart
    speeds = [reactor.step(Frame(100.0 + 0.4 * i, WIDTH, HEIGHT, (far,)), now=5.0 + wall * i)
              .command.linear for i in range(20)]
    for i, speed in enumerate(speeds):
        assert speed == pytest.approx(min(FOLLOW.max_linear_accel * wall * i, FOLLOW.max_linear))
    slow = Reactor(target=TargetConfig(switch_frames=1), follow=FOLLOW)   # late stamps: the
    speeds = [slow.step(Frame(100.0 + 0.01 * i, WIDTH, HEIGHT, (far,)), now=5.0 + 0.1 * i)
              .command.linear for i in range(5)]                     # stamps are the bound
    assert speeds[-1] == pytest.approx(FOLLOW.max_linear_accel * 0.04)


def pose_array(poses, stamp: float, depth: bool = True):
    """Make a PoseArray of rosbags' classes (the package's definitions) as the node fills it."""
    t = typestore().types
    point, keypoint = t["geometry_msgs/msg/Point"], t["posenet_ros/msg/Keypoint"]

    def where(xyz) -> tuple:
        ok = xyz is not None and np.isfinite(xyz).all()
        return ok, point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])) if ok else point(
            x=0.0, y=0.0, z=0.0)

    msgs = []
    for pose in poses:
        keypoints = []
        for part, ((x, y), score) in enumerate(zip(pose.positions, pose.keypoint_scores)):
            valid, position = where(None if pose.keypoints_3d is None
                                    else pose.keypoints_3d[part])
            keypoints.append(keypoint(part_id=part, part_name=PART_NAMES[part], x=float(x),
                                      y=float(y), score=float(score), valid_3d=valid,
                                      position=position))
        valid, position = where(pose.position_3d)
        msgs.append(t["posenet_ros/msg/Pose"](
            score=float(pose.score), keypoints=keypoints, track_id=pose.track_id, track_age=0.0,
            box_x_min=0.0, box_y_min=0.0, box_x_max=0.0, box_y_max=0.0, valid_3d=valid,
            position=position))
    head = t["std_msgs/msg/Header"](
        stamp=t["builtin_interfaces/msg/Time"](sec=int(stamp), nanosec=int(stamp % 1 * 1e9)),
        frame_id="camera_optical_frame")
    return t["posenet_ros/msg/PoseArray"](
        header=head, image_width=WIDTH, image_height=HEIGHT, poses=msgs, model="posenet",
        decoder="multi", output_stride=16, input_width=257, input_height=257,
        flip_horizontal=False, score_threshold=0.5, nms_radius=20.0, max_detections=10,
        tracking=True, smoothing=False, depth=depth,
        frame_id_3d="camera_optical_frame" if depth else "")


def test_the_parser_reads_a_pose_array(pose):
    positions = pose.positions.copy()
    positions[3] = (np.nan, 10.0)                       # a broken pixel
    scores = pose.keypoint_scores.copy()
    scores[4] = np.inf                                  # a broken score
    xyz = np.column_stack([positions, np.full(17, 2.0)])
    poses = [replace(pose, positions=positions, keypoint_scores=scores, track_id=5,
                     keypoints_3d=xyz, position_3d=np.array([0.1, 0.2, 2.0])),
             replace(pose, track_id=6)]
    frame = frame_from_pose_array(pose_array(poses, 12.25))
    assert frame.stamp == 12.25 and (frame.image_width, frame.image_height) == (WIDTH, HEIGHT)
    got = frame.people[0]
    assert [p.track_id for p in frame.people] == [5, 6]
    assert got.scores[3] == 0.0 and got.scores[4] == 0.0 and np.isfinite(got.keypoints).all()
    assert got.scores[0] == pytest.approx(pose.keypoint_scores[0], rel=1e-6)   # float32
    assert got.position == pytest.approx([0.1, 0.2, 2.0]) and got.valid[4] and not got.valid[3]
    assert frame.people[1].position is None and frame.people[1].points is None
    flat = frame_from_pose_array(pose_array(poses, 12.25, depth=False))
    assert all(p.position is None and p.points is None for p in flat.people)


def test_the_parser_refuses_a_crowd_before_reading_it(pose):
    msg = pose_array([replace(pose, track_id=i + 1) for i in range(MAX_POSES + 1)], 1.0)
    with pytest.raises(PosesRefused, match=f"{MAX_POSES + 1} poses, over the {MAX_POSES} "):
        frame_from_pose_array(msg)
    assert len(frame_from_pose_array(msg, max_poses=MAX_POSES + 1).people) == MAX_POSES + 1


def test_a_person_event_never_carries_nan(pose):
    store = get_typestore(BASE_STORE)
    store.register(get_types_from_msg((find_msg_dir() / "PersonEvent.msg").read_text(),
                                      "posenet_ros/msg/PersonEvent"))
    t = store.types
    classes = EventClasses(t["posenet_ros/msg/PersonEvent"], t["geometry_msgs/msg/Vector3"],
                           t["geometry_msgs/msg/Point"])
    head = pose_array([], 3.5).header
    good = build_person_event(classes, Event("pointing", True, 3, "left", np.array(
        [0.6, 0.0, 0.8]), True, np.array([0.1, 0.2, 2.0])), head)
    assert (good.kind, good.started, good.track_id, good.side) == ("pointing", True, 3, "left")
    assert good.direction_3d and good.direction.x == 0.6 and good.valid_3d
    assert (good.position.x, good.position.y, good.position.z) == (0.1, 0.2, 2.0)
    bad = build_person_event(classes, Event("pointing", True, 3, "left", np.array(
        [np.nan, 0.0, 1.0]), True, np.array([np.inf, 0.0, 2.0])), head)
    assert not bad.valid_3d and not bad.direction_3d
    values = [bad.direction.x, bad.direction.y, bad.direction.z, bad.position.x,
              bad.position.y, bad.position.z]
    assert all(math.isfinite(v) for v in values)
