"""reactions_node over real DDS: scripted PoseArrays in, cmd_vel and person_events out.

The installed node runs in its own process; this test publishes PoseArrays made from a real
PoseNet detection (basketball2.png, arms moved to compose gestures; reaction_poses.py) and
checks that the Twist answering each one is what the safety rules say. The tests share one
node and run in file order; each starts from a stop (the watchdog's, or a new target's).
"""
from __future__ import annotations

from dataclasses import replace
import math
from pathlib import Path
import sys
import time

from dds_probe import RELIABLE, wait_for
from geometry_msgs.msg import Point, Twist
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # test/: reaction_poses
from reaction_poses import detect_person, HEIGHT, person, place, raise_arm, WIDTH  # noqa: E402

from posenet_ros.core.keypoints import PART_NAMES  # noqa: E402, I100
from posenet_ros.msg import Keypoint, PersonEvent, Pose, PoseArray  # noqa: E402
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue  # noqa: E402
from rcl_interfaces.srv import SetParameters  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402

NAMESPACE = "/reactions_test"
TIMEOUT = 0.5
DT = 0.1


def pose_array(stamp: float, *people) -> PoseArray:
    msg = PoseArray(image_width=WIDTH, image_height=HEIGHT, depth=True, tracking=True)
    msg.header.frame_id = "camera_optical_frame"
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(stamp), int(stamp % 1 * 1e9)
    for who in people:
        keypoints = [Keypoint(part_id=i, part_name=PART_NAMES[i], x=float(x), y=float(y),
                              score=float(s), valid_3d=who.points is not None,
                              position=Point(**dict(zip("xyz", map(float, p))))
                              if who.points is not None else Point())
                     for i, ((x, y), s, p) in enumerate(zip(
                         who.keypoints, who.scores,
                         who.points if who.points is not None else [(0, 0, 0)] * 17))]
        out = Pose(score=0.9, keypoints=keypoints, track_id=who.track_id)
        if who.position is not None:
            out.valid_3d = True
            out.position = Point(**dict(zip("xyz", map(float, who.position))))
        msg.poses.append(out)
    return msg


@pytest.fixture(scope="module")
def probe(ros_context, start_node):
    import rclpy
    process = start_node(NAMESPACE, script="reactions_node", enabled=True,
                         pose_timeout=TIMEOUT, on_frames=2)
    node = rclpy.create_node("reactions_probe", namespace=NAMESPACE)
    node.twists, node.events = [], []
    node.create_subscription(Twist, "cmd_vel", node.twists.append, RELIABLE)
    node.create_subscription(PersonEvent, "person_events", node.events.append, RELIABLE)
    node.pub = node.create_publisher(PoseArray, "poses", RELIABLE)
    node.params = node.create_client(SetParameters, f"{NAMESPACE}/reactions_node/set_parameters")
    node.process = process
    node.spin = lambda: rclpy.spin_once(node, timeout_sec=0.02)
    wait_for(lambda: node.pub.get_subscription_count() > 0
             and node.count_publishers(f"{NAMESPACE}/cmd_vel") > 0, 60, node.spin,
             "reactions_node to start")
    assert process.alive(), process.log()
    node.stamp = 1000.0
    yield node
    node.destroy_node()


def send(probe, *people, dt: float = DT) -> Twist:
    """Publish one PoseArray and return the Twist that answers it.

    A watchdog zero may arrive just before the answer: the last Twist of a short quiet
    period after the first is the answer (the node answers within milliseconds; the
    watchdog publishes every pose_timeout / 2).
    """
    probe.stamp += dt
    before = len(probe.twists)
    probe.pub.publish(pose_array(probe.stamp, *people))
    wait_for(lambda: len(probe.twists) > before, 10, probe.spin, "a cmd_vel answer")
    quiet = time.monotonic() + 0.05
    while time.monotonic() < quiet:
        probe.spin()
    return probe.twists[-1]


def finite(twist: Twist) -> bool:
    """Every field of the Twist, not just the two the node sets, is a finite number."""
    values = (twist.linear.x, twist.linear.y, twist.linear.z,
              twist.angular.x, twist.angular.y, twist.angular.z)
    return all(math.isfinite(v) for v in values)


def warnings(probe, text: str) -> list[str]:
    return [line for line in probe.process.log().splitlines() if text in line]


def watchdog_stop(probe) -> None:
    """Wait for the watchdog's zero: the next ramp starts from rest."""
    count = len(probe.twists)
    wait_for(lambda: len(probe.twists) > count, 5, probe.spin, "the watchdog's zero")


def set_enabled(probe, value: bool) -> None:
    request = SetParameters.Request(parameters=[Parameter(name="enabled", value=ParameterValue(
        type=ParameterType.PARAMETER_BOOL, bool_value=value))])
    assert probe.params.wait_for_service(timeout_sec=10)
    future = probe.params.call_async(request)
    wait_for(future.done, 10, probe.spin, "set_parameters")
    assert future.result().results[0].successful


@pytest.fixture(scope="module")
def body():
    return detect_person()


def test_follow_turns_towards_the_person_and_keeps_distance(probe, body):
    centre = person(body, place(body.positions, WIDTH / 2.0), distance=3.0)
    speeds = [send(probe, centre).linear.x for _ in range(6)]
    assert speeds[0] == 0.0 and all(0 < b - a <= 0.5 * DT + 1e-6
                                    for a, b in zip(speeds[1:], speeds[2:]))
    left = person(body, place(body.positions, 120.0), distance=3.0)
    turns = [send(probe, left).angular.z for _ in range(4)]
    assert turns[-1] > 0.0                    # left of the image: turn left (+z)
    right = person(body, place(body.positions, 520.0), distance=3.0)
    assert [send(probe, right).angular.z for _ in range(3)][-1] < 0.0
    close = send(probe, person(body, place(body.positions, WIDTH / 2.0), distance=0.5))
    assert close.linear.x == 0.0


def test_hands_up_stops_on_the_same_frame(probe, body):
    walking = person(body, place(body.positions, WIDTH / 2.0), distance=3.0)
    for _ in range(5):
        moving = send(probe, walking)
    assert moving.linear.x > 0
    hands = raise_arm(raise_arm(place(body.positions, WIDTH / 2.0), "left"), "right")
    stop = send(probe, person(body, hands, distance=3.0))
    assert (stop.linear.x, stop.angular.z) == (0.0, 0.0)
    held = send(probe, person(body, hands, distance=3.0))      # on_frames=2: confirmed
    assert (held.linear.x, held.angular.z) == (0.0, 0.0)
    wait_for(lambda: any(e.kind == PersonEvent.HANDS_UP for e in probe.events), 5,
             probe.spin, "a hands_up event")
    assert any(e.kind == PersonEvent.HANDS_UP and e.started and e.track_id == 1
               for e in probe.events)


def test_raised_hand_is_an_event_with_position(probe, body):
    raised = person(body, raise_arm(place(body.positions, WIDTH / 2.0), "left"), distance=2.0)
    for _ in range(3):
        send(probe, raised)
    wait_for(lambda: any(e.kind == PersonEvent.HAND_RAISED for e in probe.events), 5,
             probe.spin, "a hand_raised event")
    event = next(e for e in probe.events if e.kind == PersonEvent.HAND_RAISED)
    assert event.started and event.side == "left" and event.valid_3d
    assert event.position.z == pytest.approx(2.0)


def test_poses_stop_then_zero_after_the_timeout(probe, body):
    walking = person(body, place(body.positions, WIDTH / 2.0), distance=3.0)
    for _ in range(8):
        last = send(probe, walking)
    assert last.linear.x > 0
    sent = time.monotonic()
    count = len(probe.twists)
    wait_for(lambda: len(probe.twists) > count, 5, probe.spin, "the watchdog's zero")
    waited = time.monotonic() - sent
    zero = probe.twists[count]
    assert (zero.linear.x, zero.angular.z) == (0.0, 0.0)
    assert TIMEOUT <= waited + 0.05 and waited < TIMEOUT * 1.5 + 0.5


@pytest.mark.parametrize("where", [(math.nan, 0.0, 3.0), (0.0, math.inf, 3.0),
                                   (0.3, 0.0, -2.0), (0.0, 0.0, 1e9)],
                         ids=["nan", "inf", "behind", "absurd"])
def test_an_impossible_target_position_gives_zero_and_one_warning(probe, body, where):
    walking = person(body, place(body.positions, 200.0), distance=3.0)
    for _ in range(6):
        moving = send(probe, walking)
    assert moving.linear.x > 0 and moving.angular.z > 0
    broken = replace(walking, position=np.array(where))
    answers = [send(probe, broken) for _ in range(5)]
    assert all(finite(a) and (a.linear.x, a.angular.z) == (0.0, 0.0) for a in answers)
    lines = warnings(probe, "not followed")
    assert lines and all("track 1: position (" in line for line in lines)
    assert len(lines) <= 2      # one per cause per throttle period (5 s), over all four cases


def test_stamps_running_ahead_do_not_speed_up_in_wall_time(probe, body):
    far = person(body, place(body.positions, WIDTH / 2.0), distance=6.0)
    watchdog_stop(probe)
    answers = []
    for _ in range(8):          # stamps 0.4 s apart, sent as fast as they are answered
        twist = send(probe, far, dt=0.4)
        answers.append((time.monotonic(), twist.linear.x))
        assert finite(twist) and twist.linear.x >= 0.0
    (start, base), slack = answers[0], 0.05
    for when, speed in answers[1:]:
        assert speed - base <= 0.5 * (when - start + slack), answers   # max_linear_accel 0.5


def test_a_huge_pose_array_is_refused_without_holding_up_the_node(probe, body):
    walking = person(body, place(body.positions, WIDTH / 2.0), distance=3.0)
    one = pose_array(0.0, walking).poses[0]
    crowd = serialize_message(PoseArray(header=pose_array(probe.stamp).header, depth=True,
                                        tracking=True, poses=[one] * 20000))
    attacker = probe.create_publisher(PoseArray, "poses", RELIABLE)   # its own DDS writer
    wait_for(lambda: attacker.get_subscription_count() > 0, 10, probe.spin, "discovery")
    for _ in range(6):
        moving = send(probe, walking)
    assert moving.linear.x > 0
    attacker.publish(crowd)              # returns once DDS has it; the node decides later
    last = time.monotonic()
    gaps, refused_at = [], None
    while refused_at is None or time.monotonic() < refused_at + 1.0:   # stream on meanwhile
        assert time.monotonic() < last + 30, "no refusal of the 20000-pose PoseArray logged"
        assert finite(send(probe, walking))
        gaps.append(time.monotonic() - last)
        last = time.monotonic()
        if refused_at is None and warnings(probe, "refused a PoseArray of"):
            refused_at = last
    # Receiving 22 MB keeps DDS busy for a few tenths of a second; decoding it would hold
    # the node for seconds (8.6 s measured here for rclpy's deserialize_message).
    assert max(gaps) < 2.0, gaps                        # every frame answered meanwhile
    assert len(warnings(probe, "refused a PoseArray of")) == 1
    watchdog_stop(probe)
    send(probe, walking)
    count, last = len(probe.twists), time.monotonic()
    attacker.publish(crowd)                   # a refused one is no pose: the watchdog stops
    wait_for(lambda: any((t.linear.x, t.angular.z) == (0.0, 0.0)
                         for t in probe.twists[count:]), 5, probe.spin, "the watchdog's zero")
    assert time.monotonic() - last < TIMEOUT * 1.5 + 0.5
    probe.pub.publish(PoseArray(header=pose_array(probe.stamp).header, poses=[one] * 101))
    wait_for(lambda: warnings(probe, "PoseArray of 101 poses, over the 100"), 10, probe.spin,
             "the count refusal")
    assert probe.process.alive()
    probe.destroy_publisher(attacker)


def test_bytes_that_do_not_decode_are_dropped_in_one_line(probe, body):
    """A peer may publish any bytes under the PoseArray type: dropped, the node goes on."""
    walking = person(body, place(body.positions, WIDTH / 2.0), distance=3.0)
    attacker = probe.create_publisher(PoseArray, "poses", RELIABLE)
    wait_for(lambda: attacker.get_subscription_count() > 0, 10, probe.spin, "discovery")
    for _ in range(3):      # a CDR header, then a sequence length past the end
        attacker.publish(b"\x00\x01\x00\x00" + b"\xff\xff\xff\x7f" * 4)
    wait_for(lambda: warnings(probe, "does not decode"), 10, probe.spin, "the refusal")
    assert finite(send(probe, walking))
    assert probe.process.alive(), probe.process.log()
    assert len(warnings(probe, "does not decode")) == 1
    probe.destroy_publisher(attacker)


def test_disabled_publishes_one_zero_then_nothing(probe, body):
    walking = person(body, place(body.positions, WIDTH / 2.0), distance=3.0)
    for _ in range(6):
        moving = send(probe, walking)
    assert moving.linear.x > 0
    count = len(probe.twists)
    set_enabled(probe, False)
    wait_for(lambda: len(probe.twists) > count, 5, probe.spin, "the zero on disabling")
    assert (probe.twists[count].linear.x, probe.twists[count].angular.z) == (0.0, 0.0)
    for _ in range(5):
        probe.stamp += DT
        probe.pub.publish(pose_array(probe.stamp, walking))
    deadline = time.monotonic() + TIMEOUT * 3          # poses, then the watchdog's period
    while time.monotonic() < deadline:
        probe.spin()
    assert len(probe.twists) == count + 1, "cmd_vel is left to others while disabled"
    set_enabled(probe, True)
    assert send(probe, walking).linear.x >= 0.0
