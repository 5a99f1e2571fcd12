"""The attacks of issue 12 as real messages over DDS to the installed node, in its own process.

Each hostile input must give one clear, specific line in the node's log (per cause: two
different attacks in a row both show), no traceback, and the node serves the next frame.
The same files are unit-tested in test/test_image_decode.py and test/test_camera_model.py.
"""
from __future__ import annotations

import time

import attack_fixtures as attacks    # test/, on sys.path through its conftest.py
from dds_probe import (
    bgr8_message, CameraInfo, CompressedImage, key, new_header, Probe, wait_for)
import numpy as np
import pytest


def compressed(data: bytes, fmt: str = "jpeg") -> CompressedImage:
    msg = CompressedImage(header=new_header(), format=fmt)
    msg.data = data
    return msg


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return attacks.encode_jpeg(attacks.still())


def send_all(probe: Probe, messages, pause: float = 0.4) -> None:
    """Publish one at a time: the node keeps only the newest frame of a stream."""
    for msg in messages:
        probe.compressed_pub.publish(msg)
        end = time.monotonic() + pause
        while time.monotonic() < end:
            probe.spin()


def test_decompression_bombs_are_refused_before_decoding(start_node, photo_jpeg):
    ns = "/attacks_bombs"
    node = start_node(ns, providers=["cpu"], image_transport="compressed",
                      qos_reliability="reliable")
    probe = Probe(ns)
    try:
        probe.wait_ready(node, compressed=True)
        probe.request(compressed(photo_jpeg))
        bombs = [compressed(attacks.jpeg_bomb(30000, 30000)),
                 compressed(attacks.jpeg_bomb(60000, 60000)),
                 compressed(attacks.png_bomb(), "png")]
        started = time.monotonic()
        send_all(probe, bombs)
        good = probe.request(compressed(photo_jpeg))
        assert time.monotonic() - started < 15, "a bomb blocked the worker"
        assert node.alive() and len(good.poses) > 0
        assert not any(key(b.header.stamp) in probe.poses for b in bombs)
        log = node.log()
        # One line per cause, not one per call site: the two JPEG bombs are one cause (only
        # their sizes differ), so the second is counted in diagnostics, not logged again.
        for reason in ("JPEG header declares 30000x30000",
                       "PNG 5700x5700 with 4 channel(s) of 16 bits decodes to"):
            assert reason in log, log
        assert log.count("JPEG header declares") == 1, log
        assert "Traceback" not in log and "cv2.error" not in log
        values = probe.next_diagnostics(f"{ns}/posenet_node")
        assert int(values["decode_errors"]) == len(bombs)
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_trailing_bytes_are_accepted_and_cut_jpegs_refused(start_node, photo_jpeg):
    ns = "/attacks_jpeg"
    node = start_node(ns, providers=["cpu"], image_transport="compressed",
                      qos_reliability="reliable")
    probe = Probe(ns)
    try:
        probe.wait_ready(node, compressed=True)
        plain = probe.request(compressed(photo_jpeg))
        padded = probe.request(compressed(attacks.with_trailing_bytes(photo_jpeg)))
        assert len(padded.poses) == len(plain.poses) > 0
        for a, b in zip(padded.poses, plain.poses):
            assert a.score == pytest.approx(b.score, abs=1e-6)
        cut = [compressed(attacks.truncated(photo_jpeg, 0.5)),
               compressed(attacks.truncated(photo_jpeg, 0.5, close=False))]
        send_all(probe, cut)
        after = probe.request(compressed(photo_jpeg))
        assert node.alive() and len(after.poses) == len(plain.poses)
        assert not any(key(c.header.stamp) in probe.poses for c in cut)
        log = node.log()
        assert "truncated JPEG: its last" in log, log                  # closed with an EOI
        assert "truncated JPEG: the data ends inside scan 1" in log, log   # without
        assert "Traceback" not in log
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def camera_info(k, d, model: str = "plumb_bob", width: int = 548,
                height: int = 342) -> CameraInfo:
    info = CameraInfo(header=new_header(), width=width, height=height, distortion_model=model)
    info.k = [float(v) for v in np.asarray(k, float).ravel()]
    info.d = [float(v) for v in d]
    info.r = [float(v) for v in np.eye(3).ravel()]
    info.p = [float(v) for v in np.hstack([np.asarray(k, float), np.zeros((3, 1))]).ravel()]
    return info


@pytest.mark.parametrize("k,d,reason", [
    (attacks.K_GOOD, attacks.D_THREE_PLUMB_BOB, "D has 3 coefficients; plumb_bob needs 5"),
    (attacks.K_NAN, (), "K has non-finite values at [0]"),
], ids=["three-plumb-bob-coefficients", "nan-in-k"])
def test_bad_camera_info_is_reported_once_and_poses_go_on(start_node, k, d, reason):
    ns = "/attacks_info_" + ("d" if d else "k")
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable")
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        probe.subscribe("markers")
        wait_for(lambda: probe.info_pub.get_subscription_count() > 0, 30, probe.spin,
                 "the node's camera_info subscription")
        frame = attacks.still()
        replies = []
        for _ in range(4):            # a camera repeats its CameraInfo with every frame
            probe.info_pub.publish(camera_info(k, d))
            replies.append(probe.request(bgr8_message(frame, new_header())))
        assert node.alive(), node.log()
        assert all(len(r.poses) > 0 for r in replies)
        wait_for(lambda: key(replies[-1].header.stamp) in probe.markers, 10, probe.spin,
                 "markers of the last frame")
        for marker in probe.markers[key(replies[-1].header.stamp)].markers[1:]:
            points = np.array([[p.x, p.y, p.z] for p in marker.points])
            assert np.isfinite(points).all(), points
        log = node.log()
        assert log.count(reason) == 1, log          # once per change, not once per frame
        assert "Traceback" not in log
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_stamps_out_of_order_and_extreme_are_served(start_node):
    """Stamps backwards, zero, the largest a header holds, two cameras interleaved.

    Every frame still gets its PoseArray, and the loss detector neither crashes nor cries loss.
    """
    from builtin_interfaces.msg import Time
    from dds_probe import vtest_frames
    from std_msgs.msg import Header
    ns = "/attacks_stamps"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable")
    probe = Probe(ns)
    frame = vtest_frames([40])[0][::2, ::2]
    stamps = [(2_000_000, 0), (2_000_000, 500_000_000), (1_999_999, 0), (0, 0), (0, 1),
              (2**31 - 1, 999_999_999), (2_000_001, 0), (2_000_000, 900_000_000)]
    try:
        probe.wait_ready(node)
        for i, (sec, nanosec) in enumerate(stamps):
            header = Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id=f"cam{i % 2}")
            reply = probe.request(bgr8_message(frame, header))
            assert (reply.header.stamp.sec, reply.header.stamp.nanosec) == (sec, nanosec)
        end = time.monotonic() + 2.5                 # two diagnostics checks after them
        while time.monotonic() < end:
            probe.spin()
        assert node.alive(), node.log()
    finally:
        probe.close()
    log = node.log()
    assert "Traceback" not in log, log
    assert "lost" not in log, log


def test_distinct_10kb_encodings_per_frame_give_a_bounded_log(start_node):
    """A distinct 10 KB encoding per frame was a new throttle cause per frame (issue 22).

    1000 such frames may cost a few short lines, not 10 MB of log, and the next good frame
    is served.
    """
    ns = "/attacks_encodings"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable")
    probe = Probe(ns)
    frame = attacks.still()
    tiny = np.zeros((8, 8, 3), np.uint8)
    try:
        probe.wait_ready(node)
        probe.request(bgr8_message(frame, new_header()))
        before = len(node.log())
        for i in range(1000):
            msg = bgr8_message(tiny, new_header())
            msg.encoding = f"enc{i:04d}" + "x" * 10_000
            probe.image_pub.publish(msg)
            if i % 20 == 0:
                probe.spin(0.02)       # let some be decoded (the node keeps the newest)
        good = probe.request(bgr8_message(frame, new_header()))
        assert node.alive() and len(good.poses) > 0
        grown = node.log()[before:]
        assert "unsupported encoding" in grown, grown[-2000:]
        assert len(grown) < 20_000, f"{len(grown)} characters logged for 1000 bad frames"
        assert "Traceback" not in grown
    finally:
        probe.close()
    assert node.stop() == 0, node.log()[-3000:]


def test_a_model_that_hangs_or_breaks_is_refused_and_the_node_goes_on(start_node, tmp_path):
    """Refuse a model that is a FIFO, a link to /dev/zero or has no inputs; poses go on.

    The reason comes back in the parameter result, or, where the node loads models in the
    background and accepts the set first, in its log.
    """
    import os
    import onnx
    from onnx import helper, TensorProto
    fifo = tmp_path / "fifo.onnx"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    graph = helper.make_graph([helper.make_node("Constant", [], ["heatmap"], value=helper
                                                .make_tensor("v", TensorProto.FLOAT, [1], [0.0]))],
                              "g", [], [helper.make_tensor_value_info("heatmap",
                                                                      TensorProto.FLOAT, [1])])
    no_inputs = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    no_inputs.ir_version = 8
    empty = tmp_path / "no_inputs.onnx"
    onnx.save(no_inputs, str(empty))
    ns = "/attacks_models"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable")
    probe = Probe(ns)
    frame = attacks.still()
    try:
        probe.wait_ready(node)
        plain = probe.request(bgr8_message(frame, new_header()))
        for path, reason in ((fifo, "is a FIFO, not a regular file"),
                             (zero, "is a character device, not a regular file"),
                             (empty, "expected one image input of rank 4")):
            started = time.monotonic()
            results = probe.set_parameters(model=str(path))
            assert time.monotonic() - started < 20
            if results[0].successful:      # loaded in the background: the log says it
                wait_for(lambda: reason in node.log(), 20, probe.spin, reason)
            else:
                assert reason in results[0].reason, results
            after = probe.request(bgr8_message(frame, new_header()))
            assert len(after.poses) == len(plain.poses)
        assert node.alive()
        assert "Traceback" not in node.log()
    finally:
        probe.close()
    assert node.stop() == 0, node.log()[-3000:]


def test_absurd_rational_polynomial_is_refused_in_one_line_and_markers_stay_finite(
        start_node):
    """A finite D = [1e30] * 8 made NaN points in every MarkerArray (issue 22)."""
    ns = "/attacks_info_rational"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable")
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        probe.subscribe("markers")
        wait_for(lambda: probe.info_pub.get_subscription_count() > 0, 30, probe.spin,
                 "the node's camera_info subscription")
        frame = attacks.still()
        replies = []
        for _ in range(3):
            probe.info_pub.publish(camera_info(attacks.K_GOOD, [1e30] * 8,
                                               "rational_polynomial"))
            replies.append(probe.request(bgr8_message(frame, new_header())))
        assert all(len(r.poses) > 0 for r in replies)
        wait_for(lambda: key(replies[-1].header.stamp) in probe.markers, 10, probe.spin,
                 "markers of the last frame")
        markers = probe.markers[key(replies[-1].header.stamp)].markers
        points = np.array([[p.x, p.y, p.z] for m in markers for p in m.points])
        assert len(points) and np.isfinite(points).all()
        log = node.log()
        assert log.count("impossible rays") == 1, log
        assert "Traceback" not in log
    finally:
        probe.close()
    assert node.stop() == 0, node.log()


def test_a_million_nan_coefficients_cost_one_short_line(start_node):
    """A CameraInfo with 10^6 NaN in D wrote a 12.9 MB log line per message (issue 22)."""
    ns = "/attacks_info_huge"
    node = start_node(ns, providers=["cpu"], qos_reliability="reliable")
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        wait_for(lambda: probe.info_pub.get_subscription_count() > 0, 30, probe.spin,
                 "the node's camera_info subscription")
        before = len(node.log())
        info = camera_info(attacks.K_GOOD, [float("nan")] * 10**6)
        frame = attacks.still()
        for _ in range(3):
            probe.info_pub.publish(info)
            assert len(probe.request(bgr8_message(frame, new_header())).poses) > 0
        reason = "D has non-finite values at [0, 1, 2, 3, 4, 5, 6, 7] and 999992 more"
        wait_for(lambda: reason in node.log(), 20, probe.spin, "the refusal")
        grown = node.log()[before:]
        assert grown.count(reason) == 1 and len(grown) < 5000, grown[:3000]
    finally:
        probe.close()
    assert node.stop() == 0, node.log()[-3000:]
