"""Settings change whole, and the engine speaks through ROS: over DDS, with the installed node.

A parameter set of several values is applied between two frames, never across one: every
PoseArray carries either all old or all new values. The engine's Python log lines (the model
loaded, a provider that cannot run) reach ``/rosout`` at ROS levels, under the node's logger.
"""
from __future__ import annotations

import threading
import time

from dds_probe import bgr8_message, new_header, Probe, vtest_frames, wait_for
import numpy as np
import pytest

NS = "/settings"
OLD = {"score_threshold": 0.5, "max_detections": 5, "min_keypoint_score": 0.5}
NEW = {"score_threshold": 0.3, "max_detections": 3, "min_keypoint_score": 0.2}


def _box_threshold(pose) -> float | None:
    """Return which of OLD's and NEW's keypoint thresholds the pose's box was drawn with."""
    xy = np.array([(k.x, k.y) for k in pose.keypoints])
    scores = np.array([k.score for k in pose.keypoints])
    box = np.array([pose.box_x_min, pose.box_y_min, pose.box_x_max, pose.box_y_max])
    fits = []
    for threshold in (OLD["min_keypoint_score"], NEW["min_keypoint_score"]):
        kept = xy[scores >= threshold]
        want = (np.r_[kept.min(axis=0), kept.max(axis=0)] if len(kept) else np.zeros(4))
        if np.allclose(box, want, atol=1e-3):
            fits.append(threshold)
    return fits[0] if len(fits) == 1 else None     # None: both fit, or neither


def test_three_parameters_set_in_one_call_never_mix_in_a_message(start_node):
    node = start_node(NS, providers=["cpu"], qos_reliability="reliable", threads=1)
    probe = Probe(NS)
    frames = [bgr8_message(f, new_header()) for f in vtest_frames(range(40, 100, 3))]
    stop = threading.Event()

    def stream():      # a camera at ~20 frames/s while the parameters change
        i = 0
        while not stop.is_set():
            msg = frames[i % len(frames)]
            msg.header = new_header()
            probe.image_pub.publish(msg)
            i += 1
            time.sleep(0.05)

    try:
        probe.wait_ready(node)
        camera = threading.Thread(target=stream, daemon=True)
        camera.start()
        for values in (NEW, OLD, NEW, OLD, NEW, OLD):
            assert all(r.successful for r in probe.set_parameters(**values))
            start = len(probe.pose_order)
            wait_for(lambda: len(probe.pose_order) >= start + 3, 30, probe.spin,
                     "three PoseArrays after a parameter set")
        stop.set()
        camera.join()
        seen = {}
        for msg in probe.pose_order:
            settings = (round(msg.score_threshold, 3), msg.max_detections)
            assert settings in {(0.5, 5), (0.3, 3)}, settings
            assert len(msg.poses) <= msg.max_detections
            boxes = {_box_threshold(p) for p in msg.poses} - {None}
            assert len(boxes) <= 1, f"boxes drawn with two thresholds in one message: {boxes}"
            if boxes:
                want = OLD if settings == (0.5, 5) else NEW
                assert boxes == {want["min_keypoint_score"]}, (settings, boxes)
                seen[settings] = seen.get(settings, 0) + 1
        assert set(seen) == {(0.5, 5), (0.3, 3)}, f"both settings were not seen: {seen}"
    finally:
        stop.set()
        probe.close()
    assert node.stop() == 0, node.log()


def test_engine_log_lines_reach_rosout_at_ros_levels(start_node):
    from rcl_interfaces.msg import Log
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    probe = Probe("/rosout_check")
    lines: list = []
    # /rosout keeps its last lines for late joiners (transient local), as rqt_console relies on.
    probe.node.create_subscription(Log, "/rosout", lines.append, QoSProfile(
        depth=1000, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    # tensorrt asked for by name cannot run on this onnxruntime: a warning, then the CPU.
    node = start_node("/rosout_check", providers=["tensorrt", "cpu"])
    try:
        probe.wait_ready(node)
        prefix = "rosout_check.posenet_node.posenet_ros."

        def engine_lines():
            return [(m.name, m.level, m.msg) for m in lines if m.name.startswith(prefix)]
        wait_for(lambda: any(level == Log.WARN for _, level, _ in engine_lines())
                 and any("loaded" in text for _, _, text in engine_lines()), 20, probe.spin,
                 "the engine's warning and load lines on /rosout")
        found = engine_lines()
        loaded = [(name, level) for name, level, text in found if "loaded" in text]
        assert loaded and all(level == Log.INFO for _, level in loaded), found
        warned = [text for _, level, text in found if level == Log.WARN]
        assert any("tensorrt" in text.lower() for text in warned), found
    finally:
        probe.close()
    assert node.stop() == 0, node.log()
    log = node.log()
    assert "[WARNING]" not in log and "[CRITICAL]" not in log, log


@pytest.mark.parametrize("value", ["/nonexistent/model.onnx", "x" * 100_000 + ".onnx"])
def test_a_refused_model_is_one_short_line_and_the_node_serves_on(start_node, value, tmp_path):
    node = start_node("/refuse", providers=["cpu"], qos_reliability="reliable")
    probe = Probe("/refuse")
    try:
        probe.wait_ready(node)
        results = probe.set_parameters(model=value)
        assert not results[0].successful and len(results[0].reason) < 600
        frame = vtest_frames([50])[0]
        assert probe.request(bgr8_message(frame, new_header())).poses     # still serving
    finally:
        probe.close()
    assert node.stop() == 0, node.log()
    assert max(len(line) for line in node.log().splitlines()) < 1000
