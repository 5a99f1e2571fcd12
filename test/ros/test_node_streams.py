"""Several camera streams batched in one installed posenet_node, over real DDS.

The node runs with ``image_topics:=[cam1/image_raw, cam2/image_raw]``; the test process
publishes different vtest.avi frames on both and checks that each stream's outputs carry its
own input's header and equal the engine's single-frame result on that frame, that frames
arriving together run as one batch, and that a bad frame on one stream leaves the other alone.
The default single-stream topics are covered by the other node tests.
"""
from __future__ import annotations

import time

import cv2
from dds_probe import (
    assert_same_poses, bgr8_message, CameraInfo, CompressedImage, Image, jpeg_message, key,
    MarkerArray, new_header, pose_of_marker, PoseArray, Probe, RELIABLE, vtest_frames,
    wait_for)
import numpy as np
from posenet_ros.outputs.marker_geometry import PIXEL_SIZE_M
import pytest

try:
    from posenet_ros.ros.parameters import BY_NAME
except ImportError:   # no ROS: dds_probe has skipped the module already
    BY_NAME = {}

NS = "/streams"
CAMS = ("cam1", "cam2")
NODE = f"{NS}/posenet_node"
# Reliable input like test_node_outputs; depth 30 so a burst reaches the node's callbacks.
PARAMS = {"providers": ["cpu"], "qos_reliability": "reliable", "qos_depth": 30,
          "image_topics": [f"{cam}/image_raw" for cam in CAMS]}


def small(bgr: np.ndarray, size=(320, 240)) -> np.ndarray:
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def frames():
    """Give each camera a different 320x240 vtest frame (two and three people)."""
    first, second = vtest_frames([30, 100])
    return {"cam1": small(first), "cam2": small(second)}


@pytest.fixture(scope="module")
def engine(ros_context):
    from posenet_ros.estimator import PoseEstimator
    return PoseEstimator(providers=("cpu",))


class Rig:
    """The probe's publishers and collected PoseArrays, one per camera namespace."""

    def __init__(self, node, probe: Probe, cams=CAMS, compressed: bool = False):
        self.node, self.probe = node, probe
        kind, suffix = (CompressedImage, "/compressed") if compressed else (Image, "")
        self.pubs = {cam: probe.node.create_publisher(kind, f"{cam}/image_raw{suffix}", RELIABLE)
                     for cam in cams}
        self.poses = {cam: probe.collect(PoseArray, f"{cam}/poses") for cam in cams}

    def wait_ready(self, timeout: float = 90.0) -> None:
        process = self.node

        def ready():
            assert process.alive(), f"node exited ({process.proc.returncode}):\n{process.log()}"
            ns = self.probe.namespace
            return all(pub.get_subscription_count() > 0 and
                       self.probe.node.count_publishers(f"{ns}/{cam}/poses") > 0
                       for cam, pub in self.pubs.items())
        wait_for(ready, timeout, self.probe.spin, "the node to subscribe to every camera")

    def find(self, cam: str, stamp) -> PoseArray | None:
        return next((m for m in self.poses[cam] if key(m.header.stamp) == key(stamp)), None)

    def request(self, msgs: dict, timeout: float = 30.0) -> dict:
        """Publish one message per camera at once (resending the unanswered); the PoseArrays."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for cam, msg in msgs.items():
                if self.find(cam, msg.header.stamp) is None:
                    self.pubs[cam].publish(msg)
            resend = time.monotonic() + 3.0
            while time.monotonic() < min(resend, deadline):
                self.probe.spin()
                found = {cam: self.find(cam, msg.header.stamp) for cam, msg in msgs.items()}
                if all(found.values()):
                    return found
        raise AssertionError(f"no PoseArray for every camera within {timeout} s")

    def totals(self) -> dict[str, int]:
        values = self.probe.next_diagnostics(NODE)
        return {k: int(v) for k, v in values.items() if k.endswith(
            ("frames_received", "frames_processed", "frames_dropped", "decode_errors",
             "engine_runs"))}


@pytest.fixture(scope="module")
def rig(start_node):
    node = start_node(NS, **PARAMS)
    probe = Probe(NS)
    rig = Rig(node, probe)
    rig.wait_ready()
    yield rig
    probe.close()
    assert node.stop() == 0, node.log()


def engine_poses(engine, bgr):
    return engine.estimate(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).poses


def stream_key(cam: str, counter: str) -> str:
    return f"{NS}/{cam}/image_raw {counter}"


def test_each_stream_gets_its_own_poses_and_header(rig, frames, engine):
    headers = {cam: new_header(f"{cam}_optical_frame") for cam in CAMS}
    got = rig.request({cam: bgr8_message(frames[cam], headers[cam]) for cam in CAMS})
    for cam in CAMS:
        msg = got[cam]
        assert key(msg.header.stamp) == key(headers[cam].stamp)
        assert msg.header.frame_id == f"{cam}_optical_frame"
        assert_same_poses(msg, engine_poses(engine, frames[cam]), 320, 240)
    # Neither stream's result leaked onto the other's topic.
    assert rig.find("cam2", headers["cam1"].stamp) is None
    assert rig.find("cam1", headers["cam2"].stamp) is None
    # The two frames differ, so the results must too (else the check above proves nothing).
    assert [p.score for p in got["cam1"].poses] != [p.score for p in got["cam2"].poses]


def test_frames_arriving_together_run_as_one_batch(rig, frames, engine):
    """Feed both cameras at ~100 Hz, faster than the node: batches take both.

    While the worker runs one batch both cameras' slots fill, and it takes them together.
    """
    before = rig.totals()
    seen_diagnostics = len(rig.probe.diagnostics)
    headers = {cam: [new_header(f"{cam}_optical_frame") for _ in range(40)] for cam in CAMS}
    # Built up front: with ROS_PYTHON_CHECK_FIELDS=1 building a message is slow enough for the
    # node to finish one camera's frame before the other's is even published.
    messages = {cam: [bgr8_message(frames[cam], h) for h in headers[cam]] for cam in CAMS}
    for i in range(40):
        for cam in CAMS:
            rig.pubs[cam].publish(messages[cam][i])
        next_pair = time.monotonic() + 0.01
        while time.monotonic() < next_pair:
            rig.probe.spin(0.005)
    for cam in CAMS:
        wait_for(lambda: rig.find(cam, headers[cam][-1].stamp) is not None, 60, rig.probe.spin,
                 f"the newest frame on {cam}")
    time.sleep(1.0)
    after = rig.totals()
    delta = {k: after[k] - before[k] for k in after}

    processed, runs = delta["frames_processed"], delta["engine_runs"]
    assert processed >= 2 and runs < processed, delta          # some run took both cameras
    windows = [float(kv.value) for array in rig.probe.diagnostics[seen_diagnostics:]
               for status in array.status if status.name.startswith(NODE + ":")
               for kv in status.values if kv.key == "mean_batch_size"]
    assert max(windows) > 1.0, windows
    for cam in CAMS:
        # Per stream: every frame received was processed or dropped (replaced by a newer one).
        received = delta[stream_key(cam, "frames_received")]
        assert received == (delta[stream_key(cam, "frames_processed")]
                            + delta[stream_key(cam, "frames_dropped")]) > 0
        # Batched results equal the engine's single-frame result on that stream's own frame.
        want = engine_poses(engine, frames[cam])
        mine = {key(h.stamp) for h in headers[cam]}
        results = [m for m in rig.poses[cam] if key(m.header.stamp) in mine]
        assert len(results) == delta[stream_key(cam, "frames_processed")]
        for msg in results:
            assert msg.header.frame_id == f"{cam}_optical_frame"
            assert_same_poses(msg, want, 320, 240)
    assert processed == sum(delta[stream_key(cam, "frames_processed")] for cam in CAMS)


def test_frames_of_different_sizes_in_one_take(rig, frames, engine):
    """cam2 at another size: frames are grouped by image size, one engine run per size."""
    before = rig.totals()
    other = small(frames["cam2"], (384, 288))
    sizes = {"cam1": frames["cam1"], "cam2": other}
    headers = {cam: [new_header() for _ in range(8)] for cam in CAMS}
    for i in range(8):
        for cam in CAMS:
            rig.pubs[cam].publish(bgr8_message(sizes[cam], headers[cam][i]))
    for cam in CAMS:
        wait_for(lambda: rig.find(cam, headers[cam][-1].stamp) is not None, 60, rig.probe.spin,
                 f"the newest frame on {cam}")
        want = engine_poses(engine, sizes[cam])
        height, width = sizes[cam].shape[:2]
        mine = {key(h.stamp) for h in headers[cam]}
        for msg in (m for m in rig.poses[cam] if key(m.header.stamp) in mine):
            assert_same_poses(msg, want, width, height)
    time.sleep(0.5)
    after = rig.totals()
    assert after["engine_runs"] - before["engine_runs"] == (
        after["frames_processed"] - before["frames_processed"])   # no run mixed two sizes


def test_bad_frame_on_one_stream_leaves_the_other_alone(rig, frames, engine):
    before = rig.totals()
    bad = []
    for _ in range(3):
        header = new_header()
        msg = Image(header=header, height=4, width=6, encoding="32FC1", step=24)
        msg.data = bytes(96)
        bad.append(msg)
        good = bgr8_message(frames["cam1"], new_header())
        rig.pubs["cam2"].publish(msg)              # together: often in one take
        got = rig.request({"cam1": good})
        assert_same_poses(got["cam1"], engine_poses(engine, frames["cam1"]), 320, 240)
    time.sleep(0.5)
    after = rig.totals()
    assert after[stream_key("cam2", "decode_errors")] - before[
        stream_key("cam2", "decode_errors")] == len(bad)
    cam1_errors = stream_key("cam1", "decode_errors")
    assert after[cam1_errors] == before[cam1_errors]
    assert all(rig.find("cam2", m.header.stamp) is None for m in bad)
    assert f"skipping frame on {NS}/cam2/image_raw" in rig.node.log()
    assert "unsupported encoding '32FC1'" in rig.node.log()
    # cam2 serves its next good frame.
    header = new_header("cam2_optical_frame")
    got = rig.request({"cam2": bgr8_message(frames["cam2"], header)})
    assert_same_poses(got["cam2"], engine_poses(engine, frames["cam2"]), 320, 240)
    assert rig.node.alive()


def test_camera_info_and_markers_are_per_stream(rig, frames):
    """cam1 has a calibration, cam2 none: only cam1's markers sit on camera rays."""
    focal, cx, cy = 200.0, 159.5, 119.5
    info = CameraInfo(width=320, height=240, distortion_model="plumb_bob")
    info.k = [focal, 0.0, cx, 0.0, focal, cy, 0.0, 0.0, 1.0]
    info_pub = rig.probe.node.create_publisher(CameraInfo, "cam1/camera_info", RELIABLE)
    markers = {cam: rig.probe.collect(MarkerArray, f"{cam}/markers") for cam in CAMS}
    wait_for(lambda: all(rig.probe.node.count_subscribers(f"{NS}/{cam}/markers") > 0 and
                         info_pub.get_subscription_count() > 0 for cam in CAMS),
             10, rig.probe.spin, "marker subscriptions and the camera_info subscriber")
    info_pub.publish(info)
    time.sleep(0.5)          # CameraInfo and images travel on separate topics
    rig.probe.spin()
    headers = {cam: new_header(f"{cam}_optical_frame") for cam in CAMS}
    got = rig.request({cam: bgr8_message(frames[cam], headers[cam]) for cam in CAMS})

    def spheres(cam):
        arrays = [a for a in markers[cam] if a.markers and
                  key(a.markers[0].header.stamp) == key(headers[cam].stamp)]
        return [m for a in arrays for m in a.markers if m.type == m.SPHERE_LIST]
    wait_for(lambda: all(spheres(cam) for cam in CAMS), 10, rig.probe.spin, "markers")
    for cam in CAMS:
        sphere = spheres(cam)[0]
        assert sphere.header.frame_id == f"{cam}_optical_frame"
        pose = pose_of_marker(got[cam], sphere.id)
        visible = [(k.x, k.y) for k in pose.keypoints
                   if k.score >= BY_NAME["min_keypoint_score"].default]
        points = np.array([(p.x, p.y, p.z) for p in sphere.points])
        if cam == "cam1":   # on the rays of cam1's pinhole, at marker_depth
            pixels = points[:, :2] / points[:, 2:] * focal + (cx, cy)
        else:               # no CameraInfo: the image plane, 1 px = 1 mm
            pixels = points[:, :2] / PIXEL_SIZE_M + (160, 120)
        np.testing.assert_allclose(pixels, visible, atol=1e-3)


def test_compressed_streams(start_node, frames, engine):
    ns = "/streams_jpeg"
    node = start_node(ns, image_transport="compressed",
                      **{**PARAMS, "image_topics": ["front/image_raw"]})
    probe = Probe(ns)
    try:
        rig = Rig(node, probe, cams=("front",), compressed=True)
        rig.wait_ready()
        jpeg = jpeg_message(frames["cam1"], new_header())
        got = rig.request({"front": jpeg})["front"]
        decoded = cv2.imdecode(np.frombuffer(jpeg.data, np.uint8), cv2.IMREAD_COLOR)
        assert_same_poses(got, engine_poses(engine, decoded), 320, 240)
        assert key(got.header.stamp) == key(jpeg.header.stamp)
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_bad_image_topics_stop_start_up_with_a_reason(start_node):
    for topics, reason in (
            (["cam1/image_raw", "cam1/image_rect"], "would share the outputs 'cam1/poses'"),
            (["image_raw", "image_rect"], "would share the outputs 'poses'"),
            (["cam 1/image_raw"], "'cam 1/image_raw' is not a topic name"),
            ("cam1/image_raw", "expecting type 'STRING_ARRAY'")):      # one string, not a list
        node = start_node("/streams_start", image_topics=topics)
        wait_for(lambda: not node.alive(), 60, what="the node to exit")
        assert node.proc.returncode == 2, node.log()
        assert "cannot start" in node.log() and reason in node.log()
        assert "Traceback" not in node.log()


def test_topic_names_follow_the_image_topic(ros_context):
    from posenet_ros.ros.streams import DEFAULT_TOPICS, stream_topics, topics_for
    assert stream_topics([]) == [DEFAULT_TOPICS]
    assert DEFAULT_TOPICS.image == "image" and DEFAULT_TOPICS.poses == "poses"
    for image, parent in (("cam1/image_raw", "cam1/"), ("/robot/front/image", "/robot/front/"),
                          ("~/cam/image", "~/cam/"), ("image_raw", "")):
        topics = topics_for(image)
        assert (topics.image, topics.camera_info, topics.poses, topics.markers,
                topics.annotated) == (image, parent + "camera_info", parent + "poses",
                                      parent + "markers", parent + "image_annotated")
