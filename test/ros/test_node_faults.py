"""Bad input and overload on the running posenet_node.

Malformed frames are reported (once per throttle period) and skipped, and the node serves
the next good frame; a burst faster than inference is dropped down to the newest frame
instead of queueing.
"""
from __future__ import annotations

import time

import cv2
from dds_probe import (
    bgr8_message, CompressedImage, Image, jpeg_message, key, new_header, Probe, vtest_frames,
    wait_for)
import pytest


@pytest.fixture(scope="module")
def small():
    """Shrink a vtest frame to 320x240 (230 KB as bgr8: safe for best-effort DDS)."""
    return cv2.resize(vtest_frames([40])[0], (320, 240), interpolation=cv2.INTER_AREA)


def bad_raw_messages():
    def image(**fields):
        msg = Image(header=new_header(), height=4, width=6, encoding="rgb8", step=18)
        msg.data = bytes(72)
        for name, value in fields.items():
            setattr(msg, name, value)
        return msg
    return [
        (image(encoding="32FC1"), "unsupported encoding '32FC1'"),
        (image(data=bytes(50)), "data has 50 bytes, expected step 18 x height 4 = 72"),
        (image(step=10), "step 10 is smaller than width 6"),
        (image(width=0, step=0, data=b""), "zero size"),
    ]


def test_bad_raw_frames_are_skipped_with_one_error_per_cause(start_node, small):
    ns = "/faults_raw"
    node = start_node(ns, providers=["cpu"])     # default QoS: best_effort, depth 1
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        probe.request(bgr8_message(small, new_header()))    # the node works
        bad = bad_raw_messages()
        for msg, _ in bad:
            probe.image_pub.publish(msg)
            time.sleep(0.3)   # one at a time: the node keeps only the newest frame
        good = probe.request(bgr8_message(small, new_header()))
        assert node.alive()
        assert (good.image_width, good.image_height) == (320, 240)
        values = probe.next_diagnostics(f"{ns}/posenet_node")
        assert int(values["decode_errors"]) == len(bad)
        log = node.log()
        # Each distinct problem is logged once with its reason (throttled per cause).
        for _, reason in bad:
            assert log.count(reason) == 1, log
        assert log.count("skipping frame") == len(bad), log
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_corrupt_jpeg_is_skipped(start_node, small):
    ns = "/faults_jpeg"
    node = start_node(ns, providers=["cpu"], image_transport="compressed")
    probe = Probe(ns)
    try:
        probe.wait_ready(node, compressed=True)
        probe.request(jpeg_message(small, new_header()))    # the node works
        good = jpeg_message(small, new_header())
        corrupt = CompressedImage(header=new_header(), format="jpeg")
        corrupt.data = bytes(good.data[:2]) + bytes(len(good.data) - 4) + b"\xff\xd9"
        truncated = CompressedImage(header=new_header(), format="jpeg")
        truncated.data = bytes(good.data[: len(good.data) // 2])
        for msg in (corrupt, truncated):
            probe.compressed_pub.publish(msg)
            time.sleep(0.3)
        assert probe.request(good).image_width == 320
        assert node.alive()
        assert "corrupt JPEG" in node.log()
        values = probe.next_diagnostics(f"{ns}/posenet_node")
        assert int(values["decode_errors"]) == 2
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_burst_is_dropped_to_the_newest_frame(start_node, small):
    """Publish 60 frames at once into a reliable depth-30 input queue.

    DDS delivers them, the node's callback keeps replacing the pending frame while the
    worker infers, so far fewer are processed, the drops are counted, and the newest frame
    is always served.
    """
    ns = "/faults_burst"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable", qos_depth=30)
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        probe.request(bgr8_message(small, new_header()))
        base = _totals(probe, ns)
        headers = [new_header() for _ in range(60)]
        frames = [bgr8_message(small, h) for h in headers]
        for msg in frames:
            probe.image_pub.publish(msg)
        wait_for(lambda: key(headers[-1].stamp) in probe.poses, 30, probe.spin, "the newest frame")
        time.sleep(1.0)
        probe.spin()
        totals = _totals(probe, ns)
        got = sum(key(h.stamp) in probe.poses for h in headers)
        received = totals["frames_received"] - base["frames_received"]
        processed = totals["frames_processed"] - base["frames_processed"]
        dropped = totals["frames_dropped"] - base["frames_dropped"]
        assert processed == got < len(headers) // 2
        assert dropped > 0 and received == processed + dropped
        # Outputs keep input order: the worker only ever moves to newer frames.
        order = [key(m.header.stamp) for m in probe.pose_order if key(m.header.stamp) in
                 {key(h.stamp) for h in headers}]
        assert order == sorted(order)
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def _totals(probe, ns) -> dict[str, int]:
    values = probe.next_diagnostics(f"{ns}/posenet_node")
    return {k: int(values[k]) for k in ("frames_received", "frames_processed", "frames_dropped")}


def test_missing_model_and_bad_settings_stop_start_up_with_a_reason(start_node):
    for params, reason in (({"model": "/nonexistent/posenet.onnx"}, "does not exist"),
                           ({"decoder": "greedy"}, "decoder 'greedy' is invalid"),
                           ({"image_transport": "theora"}, "image_transport 'theora' is invalid")):
        node = start_node("/faults_start", **params)
        wait_for(lambda: not node.alive(), 60, what="the node to exit")
        assert node.proc.returncode == 2, node.log()
        assert "cannot start" in node.log() and reason in node.log()
        assert "Traceback" not in node.log()


def test_image_size_limit(start_node, small):
    ns = "/faults_limit"
    node = start_node(ns, providers=["cpu"], max_image_pixels=1000)
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        msg = bgr8_message(small, new_header())
        deadline = time.monotonic() + 20
        while "over the limit of 1000" not in node.log():   # resend: the first best-effort
            assert time.monotonic() < deadline, node.log()   # sample after discovery may be lost
            probe.image_pub.publish(msg)
            for _ in range(10):
                probe.spin()
        assert node.alive()
        assert not probe.pose_order
    finally:
        probe.close()
    assert node.stop() == 0, node.log()
