"""The installed posenet_node, in its own process, fed real vtest.avi frames over DDS.

PoseArray must equal the engine's poses on the same frame (run here, in-process), carry
the input header, and markers and the annotated image must match it; drawing happens only
while someone subscribes to the annotated image.
"""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
from dds_probe import (
    assert_same_poses, bgr8_message, FRAME_ID, jpeg_message, key, new_header, Probe,
    vtest_frames, wait_for)
import numpy as np
from posenet_ros.outputs.marker_geometry import PIXEL_SIZE_M
from posenet_ros.ros.parameters import BY_NAME
import pytest

NS = "/outputs"
# Fast DDS with localhost-only discovery loses most best-effort samples above ~500 KB (UDP
# fragments; a vtest frame is 1.3 MB), so these tests ask for reliable input QoS;
# test_node_faults covers the default best_effort with small frames.
RELIABLE_INPUT = {"providers": ["cpu"], "qos_reliability": "reliable"}


@pytest.fixture(scope="module")
def frames():
    return vtest_frames([0, 20, 40])


@pytest.fixture(scope="module")
def engine(ros_context):
    from posenet_ros.estimator import PoseEstimator
    return PoseEstimator(providers=("cpu",))


@pytest.fixture(scope="module")
def probe(start_node):
    node = start_node(NS, **RELIABLE_INPUT)
    probe = Probe(NS)
    probe.wait_ready(node)
    yield probe
    probe.close()
    assert node.stop() == 0, node.log()


def test_pose_array_equals_engine_and_keeps_header(probe, frames, engine):
    for bgr in frames:
        header = new_header()
        msg = probe.request(bgr8_message(bgr, header))
        assert key(msg.header.stamp) == key(header.stamp)
        assert msg.header.frame_id == FRAME_ID
        poses = engine.estimate(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).poses
        assert_same_poses(msg, poses, bgr.shape[1], bgr.shape[0])
        cfg = engine.config
        assert (msg.decoder, msg.output_stride, msg.max_detections) == (
            cfg.decoder, cfg.output_stride, cfg.max_detections)
        assert (msg.input_width, msg.input_height) == engine.input_size(bgr.shape[1], bgr.shape[0])
        assert msg.model == engine.model_name
        assert msg.score_threshold == pytest.approx(cfg.score_threshold)
        assert msg.nms_radius == pytest.approx(cfg.nms_radius)
        assert msg.flip_horizontal is False


def test_pose_array_equals_the_cli(probe, frames, tmp_path):
    """The done-criterion of the ROS issue: the node's poses equal `posenet-ros estimate`'s."""
    still = tmp_path / "frame.png"                      # lossless, so both see the same pixels
    cv2.imwrite(str(still), frames[1])
    cli = subprocess.run([sys.executable, "-m", "posenet_ros.cli.main", "estimate", str(still),
                          "--json"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, check=True)
    expected = json.loads(cli.stdout)[0]["poses"]
    msg = probe.request(bgr8_message(frames[1], new_header()))
    assert len(msg.poses) == len(expected) > 0
    for got, want in zip(msg.poses, expected):
        assert got.score == pytest.approx(want["score"], abs=1e-5)
        for keypoint, part in zip(got.keypoints, want["keypoints"]):
            assert keypoint.part_name == part["part"]
            assert keypoint.score == pytest.approx(part["score"], abs=1e-5)
            assert (keypoint.x, keypoint.y) == pytest.approx(
                (part["position"]["x"], part["position"]["y"]), abs=1e-3)


def test_markers_match_poses(probe, frames):
    from posenet_ros.outputs.pose_array import poses_from_pose_array as from_pose_array
    probe.subscribe("markers")
    try:
        header = new_header()
        wait_for(lambda: probe.node.count_subscribers(f"{NS}/markers") > 0, 10, probe.spin,
                 "the marker subscription")
        msg = probe.request(bgr8_message(frames[1], header))
        wait_for(lambda: key(header.stamp) in probe.markers, 10, probe.spin, "markers")
        markers = probe.markers[key(header.stamp)].markers
    finally:
        probe.unsubscribe("markers")
    assert markers[0].action == markers[0].DELETEALL
    poses = from_pose_array(msg)
    min_score = BY_NAME["min_keypoint_score"].default   # = config/posenet.yaml's
    depth = BY_NAME["marker_depth"].default
    visible = [p for p in poses if (p.keypoint_scores >= min_score).any()]
    spheres = [m for m in markers if m.type == m.SPHERE_LIST]
    assert len(spheres) == len(visible) > 0
    for sphere, pose in zip(spheres, visible):
        assert len(sphere.points) == int((pose.keypoint_scores >= min_score).sum())
        assert sphere.header.frame_id == FRAME_ID
        assert key(sphere.header.stamp) == key(header.stamp)
        # No CameraInfo was sent: the image-plane convention (1 px = 1 mm at marker_depth).
        first = int(np.flatnonzero(pose.keypoint_scores >= min_score)[0])
        u, v = pose.positions[first]
        width, height = msg.image_width, msg.image_height
        assert sphere.points[0].x == pytest.approx((u - width / 2) * PIXEL_SIZE_M, abs=1e-6)
        assert sphere.points[0].y == pytest.approx((v - height / 2) * PIXEL_SIZE_M, abs=1e-6)
        assert sphere.points[0].z == pytest.approx(depth)
    assert all(len(m.points) % 2 == 0 for m in markers if m.type == m.LINE_LIST)


def _drawn(probe) -> int:
    return int(probe.next_diagnostics(f"{NS}/posenet_node")["annotated_images"])


def test_annotated_image_only_while_subscribed(probe, frames):
    for _ in range(2):
        probe.request(bgr8_message(frames[0], new_header()))
    assert _drawn(probe) == 0, "drew annotated images with nobody subscribed"

    probe.subscribe("image_annotated")
    try:
        wait_for(lambda: probe.node.count_subscribers(f"{NS}/image_annotated") > 0, 10, probe.spin,
                 "annotated subscription")
        header = new_header()
        probe.request(bgr8_message(frames[2], header))
        wait_for(lambda: key(header.stamp) in probe.annotated, 10, probe.spin, "annotated image")
    finally:
        probe.unsubscribe("image_annotated")
    image = probe.annotated[key(header.stamp)]
    assert (image.height, image.width, image.encoding) == (*frames[2].shape[:2], "rgb8")
    assert image.header.frame_id == FRAME_ID
    drawn = np.frombuffer(image.data, np.uint8).reshape(image.height, image.width, 3)
    original = cv2.cvtColor(frames[2], cv2.COLOR_BGR2RGB)
    assert (drawn != original).any(axis=2).sum() > 100   # the skeleton changed pixels
    count = _drawn(probe)
    assert count >= 1

    wait_for(lambda: probe.node.count_subscribers(f"{NS}/image_annotated") == 0, 10, probe.spin,
             "unsubscription to be seen")
    for _ in range(2):
        probe.request(bgr8_message(frames[0], new_header()))
    assert _drawn(probe) == count, "kept drawing after the subscriber left"


def test_compressed_transport(start_node, frames, engine):
    ns = "/compressed"
    node = start_node(ns, image_transport="compressed", **RELIABLE_INPUT)
    probe = Probe(ns)
    try:
        probe.wait_ready(node, compressed=True)
        header = new_header()
        jpeg = jpeg_message(frames[0], header)
        msg = probe.request(jpeg)
        decoded = cv2.imdecode(np.frombuffer(jpeg.data, np.uint8), cv2.IMREAD_COLOR)
        poses = engine.estimate(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)).poses
        assert_same_poses(msg, poses, decoded.shape[1], decoded.shape[0])
        assert key(msg.header.stamp) == key(header.stamp)
    finally:
        probe.close()
    assert node.stop() == 0, node.log()
