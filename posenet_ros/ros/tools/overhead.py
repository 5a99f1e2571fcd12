"""What the ROS node adds to the engine: image message in -> PoseArray out, minus inference.

    python -m posenet_ros.ros.tools.overhead [--frames N] [--width 640 --height 480] [--json FILE]

Two measurements on the same frames (vtest.avi resized, rgb8):

- in-process, no DDS: decode the Image message, build the PoseArray, serialise it (what the
  node does per frame besides the engine);
- over DDS: the installed posenet_node in its own process; one frame at a time, the time
  from publishing the Image to receiving its PoseArray, minus the node's engine time (from
  its /diagnostics), minus the same round trip through a minimal rclpy echo node (DDS
  transport both ways and rclpy's own message handling, which any Python node pays).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import time

import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from posenet_ros.core import paths
from posenet_ros.imaging.files import iter_video
from posenet_ros.imaging.ros_image import decode
from posenet_ros.msg import PoseArray
from posenet_ros.outputs.pose_array import build_pose_array
from posenet_ros.ros.images import pack_image
from posenet_ros.ros.parameters import BY_NAME
from posenet_ros.ros.tools.node_process import NAMESPACE, RELIABLE, start_node
from posenet_ros.ros.worker import POSE_CLASSES
from posenet_ros.stages.pipeline import PipelineFrame
import rclpy
from rclpy.node import Node
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header


def load_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """First ``count`` frames of the sample video, resized to width x height (RGB)."""
    frames = []
    for rgb in iter_video(paths.require(paths.sample_video(), "sample video")):
        frames.append(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
        if len(frames) == count:
            break
    return frames


def in_process(frames: list[np.ndarray]) -> dict[str, float]:
    """Median ms of the node's per-frame work besides the engine, without DDS."""
    from posenet_ros.estimator import PoseEstimator
    estimator = PoseEstimator(providers=("cpu",))
    box_min_score = BY_NAME["min_keypoint_score"].default
    times = {"decode_image": [], "build_pose_array": [], "serialize": []}
    for rgb in frames:
        msg = pack_image(rgb, "rgb8", Header(frame_id="cam"))
        result = estimator.estimate(rgb)
        t0 = time.perf_counter()
        decode(msg)                 # what the node does with each message
        t1 = time.perf_counter()
        out = build_pose_array(POSE_CLASSES, PipelineFrame(result, result.poses), msg.header,
                               box_min_score=box_min_score)
        t2 = time.perf_counter()
        serialize_message(out)
        t3 = time.perf_counter()
        for name, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
            seconds and times[name].append(seconds)
    return {name: float(np.median(v) * 1e3) for name, v in times.items()}


class Client(Node):
    def __init__(self) -> None:
        super().__init__("overhead_client", namespace=NAMESPACE)
        self.pub = self.create_publisher(Image, "image", RELIABLE)
        self.back: dict[tuple[int, int], float] = {}
        self.diagnostics: list[dict[str, str]] = []
        self.create_subscription(PoseArray, "poses", self._on_poses, RELIABLE)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_poses(self, msg: PoseArray) -> None:
        self.back[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = time.perf_counter()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(f"{NAMESPACE}/posenet_node:"):
                self.diagnostics.append({kv.key: kv.value for kv in status.values})


# The least any ROS 2 Python node can do with an image: take it and answer with its header.
ECHO = """
from posenet_ros.msg import PoseArray
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("echo", namespace="%s")
pub = node.create_publisher(PoseArray, "poses", 10)
node.create_subscription(Image, "image", lambda m: pub.publish(PoseArray(header=m.header)),
                         QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
try:
    rclpy.spin(node)
except KeyboardInterrupt:
    rclpy.try_shutdown()
""" % NAMESPACE


def round_trips(client: Client, frames: list[np.ndarray], process, log: Path,
                wait_diagnostics: bool) -> list[float]:
    """Send frames one at a time; seconds from publishing each to its PoseArray's arrival."""
    deadline = time.monotonic() + 120
    while (client.pub.get_subscription_count() == 0
           or (wait_diagnostics and not client.diagnostics)):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.stem} did not start:\n{log.read_text()}")
        rclpy.spin_once(client, timeout_sec=0.1)
    times = []
    for index, rgb in enumerate(frames):
        header = Header(frame_id="cam")
        header.stamp.sec = 1000 + index + len(client.back)
        msg = pack_image(rgb, "rgb8", header)
        sent = time.perf_counter()
        client.pub.publish(msg)
        while (header.stamp.sec, 0) not in client.back:
            rclpy.spin_once(client, timeout_sec=0.5)
        times.append(client.back[(header.stamp.sec, 0)] - sent)
    return times


def echo_round_trip(frames: list[np.ndarray], log: Path) -> float:
    """Median round trip (ms) through a minimal rclpy echo node: DDS and rclpy alone."""
    process = subprocess.Popen([sys.executable, "-c", ECHO], stdout=open(log, "w"),
                               stderr=subprocess.STDOUT)
    client = Client()
    try:
        times = round_trips(client, frames, process, log, wait_diagnostics=False)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(15)
        client.destroy_node()
    return float(np.median(times) * 1e3)


def over_dds(frames: list[np.ndarray], log: Path) -> dict[str, float]:
    """Median round trip and node timings (ms) with the installed node in its own process."""
    node = start_node(log, {"qos_reliability": "reliable", "providers": "[cpu]"})
    client = Client()
    try:
        times = round_trips(client, frames, node, log, wait_diagnostics=True)
        count = len(client.diagnostics)
        while len(client.diagnostics) < count + 2:          # a window with the last frames
            rclpy.spin_once(client, timeout_sec=0.5)
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(15)
        client.destroy_node()
    windows = [d for d in client.diagnostics if float(d["rate_hz"]) > 0]
    weights = np.array([float(d["rate_hz"]) for d in windows])

    def mean(key):
        return float(np.average([float(d[key]) for d in windows], weights=weights))
    round_trip = float(np.median(times) * 1e3)
    return {"round_trip_ms": round_trip, "engine_ms": mean("engine_ms"),
            "minus_engine_ms": round_trip - mean("engine_ms"),
            "in_node_ms": mean("queue_wait_ms") + mean("node_overhead_ms"),
            "queue_wait_ms": mean("queue_wait_ms"), "decode_image_ms": mean("decode_image_ms"),
            "build_ms": mean("build_ms"), "publish_ms": mean("publish_ms")}


def main(argv: list[str] | None = None) -> int:
    """Measure and print both; optionally write JSON."""
    parser = argparse.ArgumentParser(prog="python -m posenet_ros.ros.tools.overhead",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    frames = load_frames(args.frames, args.width, args.height)
    rclpy.init()
    try:
        local = in_process(frames)
        with tempfile.TemporaryDirectory() as tmp:
            dds = over_dds(frames, Path(tmp) / "posenet_node.log")
            echo = echo_round_trip(frames, Path(tmp) / "echo.log")
        dds["echo_round_trip_ms"] = echo
        dds["node_overhead_ms"] = dds["minus_engine_ms"] - echo
    finally:
        rclpy.try_shutdown()
    result = {"frames": len(frames), "size": f"{args.width}x{args.height}",
              "in_process_ms": local, "over_dds_ms": dds}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
