"""The test side of DDS tests.

A node in the test process publishes frames to the posenet_node under test and collects
its outputs. Importing this module skips the importing test module when ROS 2 or the built
messages are missing.
"""
from __future__ import annotations

import itertools
import time
import uuid

import cv2
import numpy as np
import pytest

try:
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from posenet_ros.msg import PoseArray
    from rcl_interfaces.srv import SetParameters
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image
    from std_msgs.msg import Header
    from visualization_msgs.msg import MarkerArray
except ImportError as exc:
    pytest.skip(f"ROS 2 or the built posenet_ros messages are missing ({exc}): run `make build` "
                "and source install/setup.bash, or use `make test`", allow_module_level=True)

FRAME_ID = "test_camera_optical_frame"
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
_stamps = itertools.count(1)


def wait_for(predicate, timeout: float, spin=None, what: str = "condition") -> None:
    """Call ``spin`` (or sleep) until ``predicate()`` holds; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if spin is not None:
            spin()
        else:
            time.sleep(0.02)


def new_header(frame_id: str = FRAME_ID) -> Header:
    """Make a header with a stamp no other frame of this test session has."""
    n = next(_stamps)
    stamp = Time(sec=1_000_000 + n, nanosec=(n * 7919) % 1_000_000_000)
    return Header(stamp=stamp, frame_id=frame_id)


def bgr8_message(bgr: np.ndarray, header: Header) -> Image:
    """Pack a BGR frame into a bgr8 Image by hand (not with the codec under test)."""
    msg = Image(header=header, height=bgr.shape[0], width=bgr.shape[1], encoding="bgr8",
                step=bgr.shape[1] * 3)
    msg.data = np.ascontiguousarray(bgr).tobytes()
    return msg


def jpeg_message(bgr: np.ndarray, header: Header, quality: int = 90) -> CompressedImage:
    """Encode a BGR frame as a JPEG CompressedImage."""
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    msg = CompressedImage(header=header, format="jpeg")
    msg.data = buf.tobytes()
    return msg


def vtest_frames(indices) -> list[np.ndarray]:
    """Read BGR frames of the sample video at ``indices`` (skip when setup has not run)."""
    from posenet_ros.core import paths
    video = paths.sample_video()
    if not video.is_file():
        pytest.skip(f"sample video missing at {video}: run `make setup`")
    capture = cv2.VideoCapture(str(video))
    frames = []
    for index in range(max(indices) + 1):
        ok, frame = capture.read()
        assert ok, f"{video} ended at frame {index}"
        if index in indices:
            frames.append(frame)
    capture.release()
    return frames


def key(stamp) -> tuple[int, int]:
    """Turn a stamp into a hashable (sec, nanosec)."""
    return stamp.sec, stamp.nanosec


def pose_of_marker(pose_array, marker_id: int):
    """Return the Pose a marker draws: by track id when tracked, else -(index + 1) (Pose.slot)."""
    slots = {p.track_id if p.track_id else -(i + 1): p for i, p in enumerate(pose_array.poses)}
    return slots[marker_id]


def assert_same_poses(msg, poses, width, height) -> None:
    """Assert that a received PoseArray carries these engine poses (float32 on the wire)."""
    from posenet_ros.outputs.pose_array import poses_from_pose_array as from_pose_array
    assert (msg.image_width, msg.image_height) == (width, height)
    received = from_pose_array(msg)
    assert len(received) == len(poses) > 0
    for got, want in zip(received, poses):
        # ONNX Runtime on the same CPU gives the same numbers, batched or not, to float32.
        assert got.score == pytest.approx(want.score, abs=1e-5)
        np.testing.assert_allclose(got.positions, want.positions, atol=1e-3)
        np.testing.assert_allclose(got.keypoint_scores, want.keypoint_scores, atol=1e-5)


class Probe:
    """A test node beside the node under test.

    Publishes on ``<ns>/image``, ``<ns>/image/compressed``, ``<ns>/camera_info``; collects
    ``<ns>/poses`` (always), markers and annotated images (on demand) and /diagnostics.
    """

    def __init__(self, namespace: str):
        self.namespace = namespace.rstrip("/")
        self.node = rclpy.create_node(f"probe_{uuid.uuid4().hex[:8]}", namespace=namespace)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.image_pub = self.node.create_publisher(Image, "image", RELIABLE)
        self.compressed_pub = self.node.create_publisher(
            CompressedImage, "image/compressed", RELIABLE)
        self.info_pub = self.node.create_publisher(CameraInfo, "camera_info", RELIABLE)
        self.poses: dict[tuple[int, int], PoseArray] = {}
        self.pose_order: list[PoseArray] = []
        self.markers: dict[tuple[int, int], MarkerArray] = {}
        self.annotated: dict[tuple[int, int], Image] = {}
        self.diagnostics: list = []
        self.node.create_subscription(PoseArray, "poses", self._on_poses, RELIABLE)
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics", self.diagnostics.append, 50)
        self._subs: dict[str, object] = {}
        self._param_client = self.node.create_client(
            SetParameters, f"{self.namespace}/posenet_node/set_parameters")

    def _on_poses(self, msg: PoseArray) -> None:
        self.poses[key(msg.header.stamp)] = msg
        self.pose_order.append(msg)

    def subscribe(self, what: str) -> None:
        """Start collecting ``markers`` or ``image_annotated``."""
        if what == "markers":
            def on_markers(msg):
                self.markers[key(msg.markers[0].header.stamp)] = msg
            self._subs[what] = self.node.create_subscription(
                MarkerArray, "markers", on_markers, RELIABLE)
        else:
            def on_image(msg):
                self.annotated[key(msg.header.stamp)] = msg
            self._subs[what] = self.node.create_subscription(
                Image, "image_annotated", on_image, RELIABLE)

    def collect(self, msg_type, topic: str) -> list:
        """Subscribe (reliable) to ``topic`` and return the list its messages go to."""
        received: list = []
        self._subs[topic] = self.node.create_subscription(msg_type, topic, received.append,
                                                          RELIABLE)
        return received

    def unsubscribe(self, what: str) -> None:
        """Stop collecting ``what``."""
        self.node.destroy_subscription(self._subs.pop(what))

    def spin(self, timeout: float = 0.05) -> None:
        """Handle at most one event, waiting up to ``timeout`` seconds."""
        self.executor.spin_once(timeout_sec=timeout)

    def wait_ready(self, process, timeout: float = 90.0, compressed: bool = False) -> None:
        """Wait until the node under test subscribes to our images and publishes poses."""
        pub = self.compressed_pub if compressed else self.image_pub

        def ready():
            assert process.alive(), f"node exited ({process.proc.returncode}):\n{process.log()}"
            return (pub.get_subscription_count() > 0
                    and self.node.count_publishers(f"{self.namespace}/poses") > 0)
        wait_for(ready, timeout, self.spin, "the node to subscribe")

    def request(self, msg, timeout: float = 30.0, resend_every: float = 3.0) -> PoseArray:
        """Publish ``msg`` until a PoseArray with its stamp comes back, and return it.

        Resending covers best-effort input QoS, which may lose the first frames after
        discovery.
        """
        pub = self.compressed_pub if isinstance(msg, CompressedImage) else self.image_pub
        wanted = key(msg.header.stamp)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pub.publish(msg)
            resend = time.monotonic() + resend_every
            while time.monotonic() < min(resend, deadline):
                self.spin()
                if wanted in self.poses:
                    return self.poses[wanted]
        raise AssertionError(f"no PoseArray for stamp {wanted} within {timeout} s")

    def set_parameters(self, timeout: float = 60.0, **values) -> list:
        """Set parameters of the node under test through its service; the results."""
        assert self._param_client.wait_for_service(timeout_sec=timeout), "no parameter service"
        request = SetParameters.Request(
            parameters=[Parameter(name, value=value).to_parameter_msg()
                        for name, value in values.items()])
        future = self._param_client.call_async(request)
        wait_for(future.done, timeout, self.spin, f"set_parameters {values}")
        return future.result().results

    def status_of(self, node_name: str):
        """Return the latest DiagnosticStatus of a node (e.g. '/ns/posenet_node'), or None."""
        for array in reversed(self.diagnostics):
            for status in array.status:
                if status.name.startswith(node_name + ":"):
                    return status
        return None

    def next_diagnostics(self, node_name: str, timeout: float = 5.0) -> dict:
        """Wait for that node's next diagnostics (published after this call); its values."""
        newer_than = len(self.diagnostics) - 1

        def fresh():
            return any(s.name.startswith(node_name + ":")
                       for a in self.diagnostics[newer_than + 1:] for s in a.status)
        wait_for(fresh, timeout, self.spin, f"diagnostics of {node_name}")
        return {kv.key: kv.value for kv in self.status_of(node_name).values}

    def close(self) -> None:
        """Destroy the probe node."""
        self.executor.remove_node(self.node)
        self.node.destroy_node()
