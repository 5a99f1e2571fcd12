"""target_frame over real DDS: 3D in the robot's frame through TF, and frames that never stall.

As in test_node_depth, the colour is a real vtest.avi frame and the depth a synthetic wall at
a known distance registered to it, so every valid keypoint's optical position is known from
the geometry alone ((u - cx) / f * d, (v - cy) / f * d, d). The test process publishes a
static transform robot_base -> camera optical frame on /tf_static (transient local, as
tf2_ros's StaticTransformBroadcaster does); each published 3D keypoint must then equal that
transform applied by hand (scipy's Rotation) to its optical position within 1 mm. Without
the transform, frames go out in the optical frame and one line says why.
"""
from __future__ import annotations

import re
import threading
import time

from builtin_interfaces.msg import Time
from dds_probe import bgr8_message, FRAME_ID, Image, key, new_header, Probe, RELIABLE, \
    vtest_frames, wait_for
from geometry_msgs.msg import PoseArray as GeometryPoseArray
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from scipy.spatial.transform import Rotation
from std_msgs.msg import Header
from test_node_depth import camera_info, depth_message, FOCAL, HEIGHT, WALL_M, WIDTH

tf2 = pytest.importorskip("tf2_msgs.msg", reason="tf2_msgs not built: make build")

TARGET = "robot_base"
STATIC_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
# A camera 1.1 m up, 0.2 m forward, looking ahead and 15 degrees down, optical axes
# (z forward, x right, y down) as REP 103 mounts them on a body frame (x forward, z up).
MOUNT_T = np.array([0.2, -0.05, 1.1])
MOUNT_R = (Rotation.from_euler("y", 15, degrees=True)
           * Rotation.from_euler("xyz", [-90, 0, -90], degrees=True))


@pytest.fixture(scope="module")
def colour():
    return vtest_frames([150])[0]


def _transform(parent: str, child: str, t, q) -> TransformStamped:
    out = TransformStamped(child_frame_id=child, transform=Transform(
        translation=Vector3(x=float(t[0]), y=float(t[1]), z=float(t[2])),
        rotation=Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3]))))
    out.header = Header(frame_id=parent)
    return out


def _optical(k) -> np.ndarray:
    """Place a keypoint in the optical frame from its pixel and the wall alone."""
    cx, cy = (WIDTH - 1) / 2, (HEIGHT - 1) / 2
    return np.array([(k.x - cx) / FOCAL * WALL_M, (k.y - cy) / FOCAL * WALL_M, WALL_M])


def _xyz(point) -> np.ndarray:
    return np.array([point.x, point.y, point.z])


def _send(probe, depth_pub, colour, count: int) -> list:
    replies = []
    for _ in range(count):
        header = new_header()
        probe.info_pub.publish(camera_info(header))
        depth_pub.publish(depth_message(header, "32FC1"))
        for _ in range(10):
            probe.spin(0.02)
        replies.append(probe.request(bgr8_message(colour, header)))
    return replies


def _ready(probe, node, depth_pub) -> None:
    probe.wait_ready(node)
    wait_for(lambda: depth_pub.get_subscription_count() > 0
             and probe.info_pub.get_subscription_count() > 0, 30, probe.spin,
             "the node's depth and camera_info subscriptions")


def test_positions_equal_the_static_transform_applied_by_hand(start_node, colour):
    ns = "/target_frame"
    static_pub_node = Probe(ns)     # publishes /tf_static before the node exists: latched
    static_pub = static_pub_node.node.create_publisher(tf2.TFMessage, "/tf_static", STATIC_QOS)
    static_pub.publish(tf2.TFMessage(transforms=[
        _transform(TARGET, FRAME_ID, MOUNT_T, MOUNT_R.as_quat())]))
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable", use_depth=True,
                      target_frame=TARGET, track_min_hits=1)
    probe = static_pub_node
    depth_pub = probe.node.create_publisher(Image, "depth/image", RELIABLE)
    hostile_pub = probe.node.create_publisher(tf2.TFMessage, "/tf", RELIABLE)
    people = probe.collect(GeometryPoseArray, "people")
    body_tf = probe.collect(tf2.TFMessage, "/tf")
    try:
        _ready(probe, node, depth_pub)
        wait_for(lambda: hostile_pub.get_subscription_count() > 0, 30, probe.spin,
                 "the node's /tf subscription")
        # Hostile /tf first: none of it may crash the node or disturb the real tree.
        unit = (0.0, 0.0, 0.0, 1.0)
        bad = [_transform("a", "a", (0, 0, 0), unit),                      # its own parent
               _transform("a", "b", (np.nan, 0, 0), unit),                 # NaN
               _transform("a", "c", (0, 0, 0), (0, 0, 0, 0)),              # zero quaternion
               _transform("a", "x" * 1_000_000, (0, 0, 0), unit),         # 1 MB name
               _transform("p", "q", (0, 0, 0), unit), _transform("q", "p", (0, 0, 0), unit)]
        flood = [_transform("a", f"flood_{i}", (0, 0, 0), unit) for i in range(1500)]
        oversized = [_transform("a", "y" * 2_000_000, (0, 0, 0), unit)]    # not even decoded
        for msg in (bad, flood, oversized):
            hostile_pub.publish(tf2.TFMessage(transforms=msg))
        hostile_pub.publish(b"\x00\x01\x00\x00" + b"\xff\xff\xff\x7f" * 4)   # no TFMessage
        replies = _send(probe, depth_pub, colour, 3)
        for _ in range(20):
            probe.spin(0.05)
        assert node.alive(), node.log()
    finally:
        probe.close()
        assert node.stop() == 0, node.log()
    rotation = MOUNT_R.as_matrix()
    checked = 0
    for reply in replies:
        assert reply.depth and reply.header.frame_id == FRAME_ID   # pixels stay the image's
        assert reply.frame_id_3d == TARGET
        for pose in reply.poses:
            for k in pose.keypoints:
                if k.valid_3d:
                    want = rotation @ _optical(k) + MOUNT_T
                    assert np.linalg.norm(_xyz(k.position) - want) < 1e-3, (k, want)
                    checked += 1
            if pose.valid_3d:     # on the wall, seen back through the transform
                back = rotation.T @ (_xyz(pose.position) - MOUNT_T)
                assert back[2] == pytest.approx(WALL_M, abs=1e-3)
        array = next(a for a in people if key(a.header.stamp) == key(reply.header.stamp))
        assert array.header.frame_id == TARGET
        placed = [_xyz(p.position) for p in reply.poses if p.valid_3d]
        np.testing.assert_allclose([_xyz(p.position) for p in array.poses], placed, atol=1e-9)
    assert checked >= 10
    # Body frames keep the optical frame as parent (TF chains them to robot_base).
    sent = [t for m in body_tf for t in m.transforms if t.child_frame_id.startswith("body_")]
    assert sent and all(t.header.frame_id == FRAME_ID for t in sent)
    log = node.log()
    assert "Traceback" not in log
    refusals = re.findall(r"ignored a transform on /tf: .*", log)
    for why in ("its own parent", "not finite", "not a unit quaternion", "longer than 256",
                "would make a loop", "frames, none silent"):
        assert any(why in line for line in refusals), (why, refusals)
    assert len(refusals) <= 8 and all(len(line) < 700 for line in refusals)
    assert re.search(r"dropped a TFMessage of 2\d{6} bytes on /tf, over 1048576", log), log
    assert len(re.findall(r"dropped a TFMessage on /tf that does not decode", log)) == 1, log


def test_without_the_transform_frames_flow_in_the_optical_frame_with_one_line(
        start_node, colour):
    ns = "/target_frame_missing"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable", use_depth=True,
                      target_frame="nowhere", transform_timeout=0.05)
    probe = Probe(ns)
    depth_pub = probe.node.create_publisher(Image, "depth/image", RELIABLE)
    try:
        _ready(probe, node, depth_pub)
        replies = _send(probe, depth_pub, colour, 4)
        values = probe.next_diagnostics(f"{ns}/posenet_node")
    finally:
        probe.close()
        assert node.stop() == 0, node.log()
    checked = 0
    for reply in replies:
        assert reply.depth and reply.frame_id_3d == FRAME_ID
        for k in (k for pose in reply.poses for k in pose.keypoints if k.valid_3d):
            assert np.linalg.norm(_xyz(k.position) - _optical(k)) < 1e-3
            checked += 1
    assert checked >= 10
    assert int(values[f"{ns}/image transform_missing"]) == len(replies)
    lines = [line for line in node.log().splitlines() if "no transform from" in line]
    assert len(lines) == 1, node.log()
    first = replies[0].header.stamp
    assert f"'{FRAME_ID}'" in lines[0] and "target_frame 'nowhere'" in lines[0]
    assert f"at stamp {first.sec}.{first.nanosec:09d}" in lines[0]
    assert "'nowhere' passed to lookupTransform argument target_frame does not exist" \
        in lines[0]


def test_a_lookup_waits_only_for_late_transforms_and_never_past_its_timeout(ros_context):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from posenet_ros.ros.tf_input import TransformInput, TransformUnavailable
    listener, sender = rclpy.create_node("tf_listener_probe"), rclpy.create_node("tf_sender")
    executor = SingleThreadedExecutor()
    for n in (listener, sender):
        executor.add_node(n)
    spinning = threading.Thread(target=executor.spin, daemon=True)
    spinning.start()
    tf_input = TransformInput(listener, tf2)
    pub = sender.create_publisher(tf2.TFMessage, "/tf", RELIABLE)

    def send(seconds: float, x: float) -> None:
        t = _transform("odom_probe", "base_probe", (x, 0, 0), (0, 0, 0, 1))
        t.header.stamp = Time(sec=int(seconds), nanosec=int(round(seconds % 1 * 1e9)))
        pub.publish(tf2.TFMessage(transforms=[t]))

    def lookup(seconds: float, timeout: float):
        stamp = Time(sec=int(seconds), nanosec=int(round(seconds % 1 * 1e9)))
        start = time.monotonic()
        try:
            return tf_input.lookup("odom_probe", "base_probe", stamp, timeout), \
                time.monotonic() - start
        except TransformUnavailable as exc:
            return exc, time.monotonic() - start

    try:
        missing, waited = lookup(5.0, 2.0)      # no such frame: no wait at all
        assert isinstance(missing, TransformUnavailable) and missing.cause == "lookup"
        assert waited < 0.1
        wait_for(lambda: pub.get_subscription_count() > 0, 10, what="the /tf subscription")
        send(4.9, 0.0)
        wait_for(lambda: not isinstance(lookup(4.9, 0.0)[0], TransformUnavailable), 10,
                 what="the first transform")
        threading.Timer(0.2, send, (5.1, 2.0)).start()
        found, waited = lookup(5.0, 2.0)        # late: waited for, then interpolated
        assert not isinstance(found, TransformUnavailable), found
        np.testing.assert_allclose(found.translation, (1.0, 0.0, 0.0), atol=1e-6)
        assert 0.1 < waited < 1.5
        late, waited = lookup(7.0, 0.3)         # never comes: refused at the timeout
        assert isinstance(late, TransformUnavailable) and late.cause == "extrapolation"
        assert "extrapolation into the future" in str(late)
        assert 0.29 < waited < 0.8
    finally:
        tf_input.close()
        executor.shutdown()
        for n in (listener, sender):
            n.destroy_node()


def test_a_target_frame_tf2_would_refuse_is_refused_naming_the_fix():
    from posenet_ros.core.config import ConfigError
    from posenet_ros.ros import parameters
    values = {spec.name: spec.default for spec in parameters.SPECS}
    assert parameters.settings(values).outputs.target_frame == ""
    values["target_frame"] = "/base_link"
    with pytest.raises(ConfigError, match="starts with '/'.*use 'base_link'"):
        parameters.settings(values)
    values["target_frame"] = "b" * 300
    with pytest.raises(ConfigError, match="longer than 256"):
        parameters.settings(values)
