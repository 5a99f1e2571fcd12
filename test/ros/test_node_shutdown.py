"""Clean shutdown of the running nodes on every path, over real processes.

Ctrl-C (SIGINT), the two SIGINTs a terminal Ctrl-C under ``ros2 launch`` delivers (the
terminal signals the process group, launch forwards one more: 10-50 ms apart), SIGINT while
a camera floods the node, and SIGTERM (rclpy shuts its context down: the external shutdown
path) all end the process with exit code 0 and no traceback, several times in a row since
the failures were races (2 of 15 runs).
"""
from __future__ import annotations

import signal
import subprocess
import threading
import time

import cv2
from dds_probe import bgr8_message, new_header, Probe, vtest_frames
import pytest
from sensor_msgs.msg import Image

REPEATS = 3


class Flood:
    """Publish frames as fast as DDS takes them from a thread, as a fast camera would."""

    def __init__(self, probe: Probe, frame) -> None:
        self._probe, self._frame = probe, frame
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._probe.image_pub.publish(bgr8_message(self._frame, new_header()))
            self.sent += 1
            self._stop.wait(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)


def _signal(node, signals, gap: float, timeout: float = 15.0) -> tuple[int, float]:
    """Send ``signals`` ``gap`` s apart and wait: (exit code, seconds); fail on a hang."""
    started = time.monotonic()
    for i, sig in enumerate(signals):
        if i:
            time.sleep(gap)
        node.proc.send_signal(sig)
    try:
        code = node.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        node.proc.kill()
        node.proc.wait()
        raise AssertionError(f"still running {timeout} s after {signals}:\n{node.log()}")
    return code, time.monotonic() - started


def _assert_clean(node, code) -> None:
    log = node.log()
    assert code == 0, log
    assert "Traceback" not in log, log
    assert "shutting down" in log, log


@pytest.fixture(scope="module")
def frame():
    return cv2.resize(vtest_frames([40])[0], (320, 240))


@pytest.mark.parametrize("signals,gap,load", [
    ((signal.SIGINT,), 0.0, False),
    ((signal.SIGINT,), 0.0, True),
    ((signal.SIGINT, signal.SIGINT), 0.01, True),
    ((signal.SIGINT, signal.SIGINT), 0.05, False),
    ((signal.SIGTERM,), 0.0, True),
    ((signal.SIGINT, signal.SIGTERM), 0.03, True),
], ids=["SIGINT", "SIGINT-under-load", "double-SIGINT-10ms-under-load", "double-SIGINT-50ms",
        "SIGTERM-under-load", "SIGINT-then-SIGTERM"])
def test_signals_exit_cleanly(start_node, frame, signals, gap, load):
    for attempt in range(REPEATS):
        ns = f"/shutdown_{'_'.join(s.name.lower() for s in signals)}_{int(load)}_{attempt}"
        node = start_node(ns, providers=["cpu"])
        probe = Probe(ns)
        flood = None
        try:
            probe.wait_ready(node)
            probe.request(bgr8_message(frame, new_header()))
            if load:
                flood = Flood(probe, frame)
                time.sleep(1.0)                   # the worker is busy as the signal lands
            code, elapsed = _signal(node, signals, gap)
        finally:
            if flood is not None:
                flood.stop()
            probe.close()
        _assert_clean(node, code)
        print(f"{ns}: exited in {elapsed:.2f} s"
              + (f" after {flood.sent} flooded frames" if flood else ""))


def test_camera_node_double_sigint(start_node):
    """camera_node, the other node a launch starts, takes the double SIGINT as well."""
    for attempt in range(REPEATS):
        node = start_node(f"/shutdown_camera_{attempt}", script="camera_node", rate=30.0)
        probe = Probe(f"/shutdown_camera_{attempt}")
        try:
            images = probe.collect(Image, "image")
            deadline = time.monotonic() + 60
            while len(images) < 3 and time.monotonic() < deadline:
                assert node.alive(), node.log()
                probe.spin()
            assert images, node.log()
            code, _ = _signal(node, (signal.SIGINT, signal.SIGINT), 0.02)
        finally:
            probe.close()
        _assert_clean(node, code)


@pytest.mark.parametrize("spin", ["spin_until_shutdown", "rclpy.spin"])
def test_spin_returns_when_the_context_is_shut_down_the_way_rclpys_signal_thread_does(spin):
    """The signal thread of rclpy wakes executors, then shuts the context down (rcl only).

    An executor woken in between waits again; ``context.handle.shutdown()`` (what that thread
    calls: no ``on_shutdown`` callback, so no wake) reproduces the state it is left in, with no
    timer or message to end the wait. ``rclpy.spin`` stays blocked there (the rare "ignored
    SIGINT" of a node on sim time); the nodes' spin returns within its WAKE_PERIOD.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from posenet_ros.ros.run import spin_until_shutdown, WAKE_PERIOD
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("spin_probe", context=context)

    def run() -> None:
        try:
            if spin == "rclpy.spin":
                rclpy.spin(node, rclpy.executors.SingleThreadedExecutor(context=context))
            else:
                spin_until_shutdown(node)
        except ExternalShutdownException:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.5)                       # in its wait, with nothing due
    started = time.monotonic()
    context.handle.shutdown()
    thread.join(WAKE_PERIOD + 2.0)
    returned_after = time.monotonic() - started if not thread.is_alive() else None
    context.try_shutdown()                # the Python path wakes a blocked executor
    thread.join(5.0)
    node.destroy_node()
    if spin == "rclpy.spin":
        assert returned_after is None, "rclpy.spin returned: the workaround may be obsolete"
    else:
        assert returned_after is not None and returned_after < WAKE_PERIOD + 1.0


def test_sigint_during_a_long_inference_exits_cleanly_and_in_time(start_node, frame):
    """A 1921x1921 stride-8 network (seconds per frame here): Ctrl-C lands mid-inference.

    The worker cannot be interrupted inside ONNX Runtime; the node stops waiting for it after
    STOP_TIMEOUT, and the process exits (0, no traceback) instead of hanging on it.
    """
    from posenet_ros.ros.run import EXIT_TIMEOUT
    from posenet_ros.ros.worker import STOP_TIMEOUT
    ns = "/shutdown_long_inference"
    # Reliable: each frame is sent once (a resend would queue a second long inference).
    node = start_node(ns, providers=["cpu"], input_resolution=1921, output_stride=8,
                      qos_reliability="reliable")
    probe = Probe(ns)
    try:
        probe.wait_ready(node)
        started = time.monotonic()
        probe.request(bgr8_message(frame, new_header()), timeout=120, resend_every=120)
        took = time.monotonic() - started
        probe.image_pub.publish(bgr8_message(frame, new_header()))
        time.sleep(min(0.5, took / 3))            # inside the next inference
        code, elapsed = _signal(node, (signal.SIGINT,), 0.0,
                                timeout=STOP_TIMEOUT + EXIT_TIMEOUT + 10)
    finally:
        probe.close()
    _assert_clean(node, code)
    print(f"one frame took {took:.1f} s; exited {elapsed:.2f} s after SIGINT")
    assert elapsed < STOP_TIMEOUT + EXIT_TIMEOUT + 2.0, node.log()
