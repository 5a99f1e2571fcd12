"""reactions_node over real DDS: scripted PoseArrays in, cmd_vel and person_events out.

The installed node runs in its own process; this test publishes PoseArrays made from a real
PoseNet detection (basketball2.png, arms moved to compose gestures; reaction_poses.py) and
checks that the Twist answering each one is what the safety rules say.
"""
from __future__ import annotations

from pathlib import Path
import sys
import time

from dds_probe import RELIABLE, wait_for
from geometry_msgs.msg import Point, Twist
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # test/: reaction_poses
from reaction_poses import detect_person, HEIGHT, person, place, raise_arm, WIDTH  # noqa: E402

from posenet_ros.core.keypoints import PART_NAMES  # noqa: E402, I100
from posenet_ros.msg import Keypoint, PersonEvent, Pose, PoseArray  # noqa: E402

NAMESPACE = "/reactions_test"
TIMEOUT = 0.5
DT = 0.1


def pose_array(stamp: float, *people) -> PoseArray:
    msg = PoseArray(image_width=WIDTH, image_height=HEIGHT, depth=True)
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
    node.spin = lambda: rclpy.spin_once(node, timeout_sec=0.02)
    wait_for(lambda: node.pub.get_subscription_count() > 0
             and node.count_publishers(f"{NAMESPACE}/cmd_vel") > 0, 60, node.spin,
             "reactions_node to start")
    assert process.alive(), process.log()
    node.stamp = 1000.0
    yield node
    node.destroy_node()


def send(probe, *people) -> Twist:
    """Publish one PoseArray and return the Twist that answers it."""
    probe.stamp += DT
    before = len(probe.twists)
    probe.pub.publish(pose_array(probe.stamp, *people))
    wait_for(lambda: len(probe.twists) > before, 10, probe.spin, "a cmd_vel answer")
    return probe.twists[before]


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
