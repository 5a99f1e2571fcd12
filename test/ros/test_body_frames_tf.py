"""body_<id> TF frames over real DDS (use_depth, body_frames on by default).

Colour is real vtest.avi frames; depth is a synthetic wall at a known distance registered to
them (as in test_node_depth). Each confirmed person whose hips have depth must get a transform
from the image's frame to ``body_<id>`` at the image's stamp whose origin is within 1 cm of
the hip mid-point the PoseArray publishes, with z toward the shoulders.
"""
from __future__ import annotations

from builtin_interfaces.msg import Time
from dds_probe import bgr8_message, FRAME_ID, Image, key, Probe, RELIABLE, vtest_frames, wait_for
import numpy as np
from posenet_ros.core.keypoints import PART_IDS
import pytest
from std_msgs.msg import Header
from test_node_depth import camera_info, depth_message

tf2 = pytest.importorskip("tf2_msgs.msg", reason="tf2_msgs not built: make build")

NS = "/body_tf"
HIPS = [PART_IDS["leftHip"], PART_IDS["rightHip"]]
SHOULDERS = [PART_IDS["leftShoulder"], PART_IDS["rightShoulder"]]


def _header(index: int) -> Header:
    total = index * 100_000_000
    return Header(stamp=Time(sec=8_000_000 + total // 10**9, nanosec=total % 10**9),
                  frame_id=FRAME_ID)


def _matrix(q) -> np.ndarray:
    x, y, z, w = q.x, q.y, q.z, q.w
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_each_confirmed_person_has_a_body_frame_at_the_hips(start_node):
    node = start_node(NS, providers=["cpu"], qos_reliability="reliable", use_depth=True,
                      track_min_hits=1)
    probe = Probe(NS)
    depth_pub = probe.node.create_publisher(Image, "depth/image", RELIABLE)
    tf_msgs = probe.collect(tf2.TFMessage, "/tf")
    try:
        probe.wait_ready(node)
        wait_for(lambda: depth_pub.get_subscription_count() > 0
                 and probe.info_pub.get_subscription_count() > 0, 30, probe.spin,
                 "the node's depth and camera_info subscriptions")
        replies = []
        for i, bgr in enumerate(vtest_frames(list(range(40, 48)))):
            header = _header(i)
            probe.info_pub.publish(camera_info(header))
            depth_pub.publish(depth_message(header, "32FC1"))
            for _ in range(10):
                probe.spin(0.02)
            replies.append(probe.request(bgr8_message(bgr, header)))
        for _ in range(40):
            probe.spin(0.05)
    finally:
        probe.close()
        assert node.stop() == 0, node.log()
    sent = {(key(t.header.stamp), t.child_frame_id): t for m in tf_msgs for t in m.transforms}
    checked = 0
    for reply in replies:
        assert reply.depth
        for pose in reply.poses:
            hips = [pose.keypoints[i] for i in HIPS]
            if pose.track_id == 0 or not all(k.valid_3d for k in hips):
                continue
            child = f"body_b{np.base_repr(pose.track_id, 36).lower()}"
            t = sent[(key(reply.header.stamp), child)]
            assert t.header.frame_id == FRAME_ID
            xyz = np.array([(k.position.x, k.position.y, k.position.z) for k in pose.keypoints])
            mid = xyz[HIPS].mean(axis=0)
            origin = t.transform.translation
            assert np.linalg.norm((origin.x - mid[0], origin.y - mid[1], origin.z - mid[2])) \
                < 0.01
            shoulders = [i for i in SHOULDERS if pose.keypoints[i].valid_3d]
            if shoulders:
                up = xyz[shoulders].mean(axis=0) - mid
                np.testing.assert_allclose(_matrix(t.transform.rotation)[:, 2],
                                           up / np.linalg.norm(up), atol=1e-4)
            checked += 1
    assert checked > 0, "no confirmed person with hips in depth: nothing checked"
    # Nobody without hips in depth, nor untracked, has a frame.
    confirmed = {(key(r.header.stamp), f"body_b{np.base_repr(p.track_id, 36).lower()}")
                 for r in replies for p in r.poses if p.track_id > 0}
    assert set(sent) <= confirmed
