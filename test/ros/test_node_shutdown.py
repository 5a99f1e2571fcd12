"""Clean shutdown of the running posenet_node while it is busy with frames.

Ctrl-C (SIGINT, what `ros2 launch` sends first) and SIGTERM (rclpy shuts its context down:
the external shutdown path) both end the process with exit code 0 and no traceback.
"""
from __future__ import annotations

import signal
import time

import cv2
from dds_probe import bgr8_message, new_header, Probe, vtest_frames
import pytest


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_busy_exits_cleanly(start_node, sig):
    ns = f"/shutdown_{sig.name.lower()}"
    frame = cv2.resize(vtest_frames([40])[0], (320, 240))
    node = start_node(ns, providers=["cpu"])
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        probe.request(bgr8_message(frame, new_header()))
        for _ in range(10):                     # keep the worker busy as the signal lands
            probe.image_pub.publish(bgr8_message(frame, new_header()))
            time.sleep(0.01)
        started = time.monotonic()
        code = node.stop(sig, timeout=10.0)     # fails on a hang
        elapsed = time.monotonic() - started
    finally:
        probe.close()
    log = node.log()
    assert code == 0, log
    assert "Traceback" not in log, log
    assert "shutting down" in log
    print(f"{sig.name}: exited in {elapsed:.2f} s")
