"""posenet_node with an aligned depth camera, over real DDS (use_depth).

No RGB-D recording exists here, so the depth is synthetic with a known geometry: a real
vtest.avi frame as colour and, registered to it at half its resolution, a wall at a known
distance with holes. Every valid keypoint must then lie on that wall, on the ray of its pixel
through the K the test sent (expected values from the geometry, not from the code); a colour
frame whose depth never arrives goes out in 2D and is counted.
"""
from __future__ import annotations

from dds_probe import bgr8_message, CameraInfo, Image, key, new_header, Probe, RELIABLE, \
    vtest_frames, wait_for
from geometry_msgs.msg import PoseArray as GeometryPoseArray
import numpy as np
from posenet_ros.stages.depth.depth_image import encode_depth
import pytest

NS = "/depth"
WALL_M = 3.2
FOCAL, WIDTH, HEIGHT = 600.0, 768, 576          # vtest.avi's size


@pytest.fixture(scope="module")
def colour():
    return vtest_frames([150])[0]


def camera_info(header) -> CameraInfo:
    info = CameraInfo(header=header, width=WIDTH, height=HEIGHT, distortion_model="plumb_bob")
    cx, cy = (WIDTH - 1) / 2, (HEIGHT - 1) / 2
    info.k = [FOCAL, 0.0, cx, 0.0, FOCAL, cy, 0.0, 0.0, 1.0]
    info.d = [0.0] * 5
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [FOCAL, 0.0, cx, 0.0, 0.0, FOCAL, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def depth_message(header, encoding: str) -> Image:
    """Make a wall at WALL_M, at half the colour resolution, with rows of holes (no reading)."""
    metres = np.full((HEIGHT // 2, WIDTH // 2), WALL_M, np.float32)
    metres[::7, :] = np.nan                   # every 7th row: holes (0 in 16UC1)
    width, height, step, data = encode_depth(metres, encoding)
    return Image(header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
                 step=step, data=data)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_keypoints_land_on_the_wall_and_unpaired_frames_go_out_2d(start_node, colour,
                                                                  encoding):
    ns = f"{NS}_{encoding.lower()}"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable", use_depth=True)
    probe = Probe(ns)
    depth_pub = probe.node.create_publisher(Image, "depth/image", RELIABLE)
    people = probe.collect(GeometryPoseArray, "people")
    try:
        probe.wait_ready(node)
        wait_for(lambda: depth_pub.get_subscription_count() > 0
                 and probe.info_pub.get_subscription_count() > 0, 30, probe.spin,
                 "the node's depth and camera_info subscriptions")
        header = new_header()
        probe.info_pub.publish(camera_info(header))
        depth_pub.publish(depth_message(header, encoding))
        for _ in range(20):   # let CameraInfo and depth arrive before the colour frame
            probe.spin(0.05)
        msg = probe.request(bgr8_message(colour, header))
        assert msg.depth and len(msg.poses) > 0
        valid = [(k, pose) for pose in msg.poses for k in pose.keypoints if k.valid_3d]
        assert len(valid) >= 10, "expected most confident keypoints to get depth"
        cx, cy = (WIDTH - 1) / 2, (HEIGHT - 1) / 2
        for k, _ in valid:
            assert k.position.z == pytest.approx(WALL_M, abs=1e-3)
            assert k.position.x == pytest.approx((k.x - cx) / FOCAL * WALL_M, abs=1e-3)
            assert k.position.y == pytest.approx((k.y - cy) / FOCAL * WALL_M, abs=1e-3)
        placed = [pose for pose in msg.poses if pose.valid_3d]
        assert placed and all(p.position.z == pytest.approx(WALL_M, abs=1e-3) for p in placed)
        wait_for(lambda: any(key(a.header.stamp) == key(header.stamp) for a in people), 10,
                 probe.spin, "the people PoseArray")
        (array,) = [a for a in people if key(a.header.stamp) == key(header.stamp)]
        assert len(array.poses) == len(placed)
        # A colour frame without depth: 2D, counted, never held back.
        lonely = probe.request(bgr8_message(colour, new_header()))
        assert not lonely.depth and len(lonely.poses) == len(msg.poses)
        assert not any(k.valid_3d for pose in lonely.poses for k in pose.keypoints)
        values = probe.next_diagnostics(f"{ns}/posenet_node")
        assert int(values[f"{ns}/image depth_paired"]) == 1
        assert int(values[f"{ns}/image depth_unmatched"]) == 1
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_a_malformed_depth_frame_is_refused_once_and_poses_go_on(start_node, colour):
    ns = f"{NS}_bad"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable", use_depth=True)
    probe = Probe(ns)
    depth_pub = probe.node.create_publisher(Image, "depth/image", RELIABLE)
    try:
        probe.wait_ready(node)
        wait_for(lambda: depth_pub.get_subscription_count() > 0, 30, probe.spin,
                 "the node's depth subscription")
        replies = []
        for _ in range(3):
            header = new_header()
            probe.info_pub.publish(camera_info(header))
            depth_pub.publish(Image(header=header, height=2, width=2, encoding="mono8",
                                    step=2, data=bytes(4)))
            for _ in range(10):
                probe.spin(0.05)
            replies.append(probe.request(bgr8_message(colour, header)))
        assert all(not r.depth and len(r.poses) > 0 for r in replies)
        log = node.log()
        assert log.count("depth frame on") == 1, log     # one line per cause, then counted
        assert "Traceback" not in log
        values = probe.next_diagnostics(f"{ns}/posenet_node")
        assert int(values[f"{ns}/image depth_errors"]) == 3
    finally:
        probe.close()
    assert node.stop() == 0, node.log()
