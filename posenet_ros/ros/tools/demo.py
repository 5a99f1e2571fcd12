"""The end-to-end demo: a video published over DDS to the installed posenet_node.

    python -m posenet_ros.ros.tools.demo [--video PATH] [--frames N] [--rate FPS] [--out DIR]
                                         [--resolution N]

Starts ``lib/posenet_ros/posenet_node`` (found through the ament index, i.e. the sourced
colcon install) as its own process in the namespace ``/posenet_demo``, publishes the video's
frames (default: the sample vtest.avi) from this process at the video's rate, as a camera
would, and records what comes back: ``poses.jsonl`` (one line per PoseArray, TF.js pose
format), ``annotated.mp4`` (the node's image_annotated) and a summary on stdout. Exit code
0 when poses came back and the node shut down cleanly.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path
import signal
import sys
import threading
import time

from ament_index_python.packages import get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from posenet_ros.core import paths
from posenet_ros.core.errors import ImageError
from posenet_ros.imaging.files import iter_video, video_fps
from posenet_ros.imaging.ros_image import decode
from posenet_ros.imaging.video import AnnotatedOutput
from posenet_ros.msg import PoseArray
from posenet_ros.outputs.pose_array import poses_from_pose_array
from posenet_ros.ros.calibration import default_camera_info
from posenet_ros.ros.delivery import PROFILE as DELIVERY_PROFILE
from posenet_ros.ros.images import pack_image
from posenet_ros.ros.tools.node_process import NAMESPACE, RELIABLE, start_node, wait_until
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

FRAME_ID = "camera_optical_frame"


class DemoClient(Node):
    """Publishes frames like a camera and keeps what posenet_node sends back."""

    def __init__(self, out: Path, fps: float) -> None:
        super().__init__("demo_client", namespace=NAMESPACE)
        self.image_pub = self.create_publisher(Image, "image", RELIABLE)
        self.info_pub = self.create_publisher(CameraInfo, "camera_info", RELIABLE)
        self.sent: dict[tuple[int, int], int] = {}      # stamp -> frame index
        self.received: list[dict] = []
        self.frames_back: list[tuple[int, int]] = []
        self.latencies: list[float] = []
        self._jsonl = open(out / "poses.jsonl", "w")
        self._video = AnnotatedOutput(out / "annotated.mp4", fps=fps)
        self.diagnostics: list[dict[str, str]] = []
        self.create_subscription(PoseArray, "poses", self._on_poses, RELIABLE)
        self.create_subscription(Image, "image_annotated", self._on_annotated, RELIABLE)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def publish(self, index: int, rgb: np.ndarray, info: CameraInfo) -> None:
        """Send frame ``index`` (RGB) and its CameraInfo, stamped now."""
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=FRAME_ID)
        self.sent[(header.stamp.sec, header.stamp.nanosec)] = index
        self.image_pub.publish(pack_image(rgb, "rgb8", header))
        info.header = header
        self.info_pub.publish(info)

    def _on_poses(self, msg: PoseArray) -> None:
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        latency = (self.get_clock().now().nanoseconds - stamp[0] * 10**9 - stamp[1]) * 1e-6
        poses = poses_from_pose_array(msg)
        record = {"frame": self.sent.get(stamp), "stamp": f"{stamp[0]}.{stamp[1]:09d}",
                  "image_width": msg.image_width, "image_height": msg.image_height,
                  "latency_ms": round(latency, 3), "poses": [p.to_dict() for p in poses]}
        self._jsonl.write(json.dumps(record) + "\n")
        self.received.append(record)
        self.frames_back.append(stamp)
        self.latencies.append(latency)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(f"{NAMESPACE}/posenet_node:"):
                self.diagnostics.append({kv.key: kv.value for kv in status.values})

    def _on_annotated(self, msg: Image) -> None:
        self._video.write(decode(msg))

    @property
    def annotated_frames(self) -> int:
        return self._video.frames

    def close(self) -> None:
        """Flush and close the outputs."""
        self._jsonl.close()
        self._video.close()


def run(args: argparse.Namespace) -> int:
    """Run the demo; the process exit code."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    video = Path(args.video) if args.video else paths.require(paths.sample_video(), "sample video")
    fps = args.rate or video_fps(video)
    frames = iter_video(video)
    try:
        first = next(frames)
    except (ImageError, StopIteration) as exc:
        print(f"cannot read frames from {video}: {exc or 'no frames'}", file=sys.stderr)
        return 1
    info = default_camera_info(first.shape[1], first.shape[0])
    # Reliable input: a 768x576 frame is 1.3 MB, which best-effort Fast DDS on a default
    # kernel mostly loses (UDP fragments); the node still keeps only the newest frame.
    log_path = out / "posenet_node.log"
    node = start_node(log_path, {"qos_reliability": "reliable",
                                 "input_resolution": str(args.resolution)})
    client = DemoClient(out, fps)
    # Callbacks run in their own thread, so results are taken as they arrive while this
    # thread paces the frames.
    executor = SingleThreadedExecutor()
    executor.add_node(client)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        if not wait_until(lambda: client.image_pub.get_subscription_count() > 0, 120, node):
            print(f"posenet_node did not come up; its log:\n{log_path.read_text()}",
                  file=sys.stderr)
            return 1
        # Let the node see our image_annotated subscription before the first frame.
        wait_until(lambda: client.count_publishers(f"{NAMESPACE}/image_annotated") > 0, 10, node)
        started = time.monotonic()
        sent = 0
        for rgb in itertools.chain([first], frames):
            if args.frames and sent >= args.frames:
                break
            client.publish(sent, rgb, info)
            sent += 1
            time.sleep(max(0.0, started + sent / fps - time.monotonic()))
        last = max(client.sent)
        wait_until(lambda: client.frames_back and client.frames_back[-1] == last, 10, node)
        time.sleep(0.5)   # the last annotated image, if any
        elapsed = time.monotonic() - started
        node.send_signal(signal.SIGINT)
        node_code = node.wait(15)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
        executor.shutdown()
        spinner.join(5)
        client.close()
        client.destroy_node()
    summarize(client, sent, elapsed, out, node_code)
    return 0 if client.received and node_code == 0 else 1


def summarize(client: DemoClient, sent: int, elapsed: float, out: Path, node_code: int) -> None:
    """Print what was sent and what came back."""
    received = client.received
    people = [len(r["poses"]) for r in received]
    scores = [p["score"] for r in received for p in r["poses"]]
    latency = np.array(client.latencies) if client.latencies else np.zeros(1)
    print(f"frames sent        {sent} in {elapsed:.1f} s ({sent / elapsed:.1f} fps)")
    print(f"PoseArrays         {len(received)} ({sent - len(received)} frames dropped by the "
          "node to stay on the newest frame)")
    if people:
        print(f"people per frame   mean {np.mean(people):.2f}, max {max(people)}")
    if scores:
        print(f"mean pose score    {np.mean(scores):.3f}")
    print(f"latency            median {np.median(latency):.1f} ms, mean {latency.mean():.1f} ms, "
          f"p95 {np.percentile(latency, 95):.1f} ms (image stamp -> PoseArray received)")
    windows = [d for d in client.diagnostics if float(d["rate_hz"]) > 0]
    if windows:
        def node_mean(key):
            return np.average([float(d[key]) for d in windows],
                              weights=[float(d["rate_hz"]) for d in windows])
        print(f"in the node        inference {node_mean('inference_ms'):.1f} ms, engine "
              f"{node_mean('engine_ms'):.1f} ms, message in -> PoseArray out "
              f"{node_mean('latency_ms'):.1f} ms; {windows[-1]['frames_dropped']} dropped, "
              f"{windows[-1]['decode_errors']} undecodable; on {windows[-1]['providers']}")
    print(f"annotated frames   {client.annotated_frames}")
    print(f"node exit code     {node_code}")
    print(f"wrote              {out / 'poses.jsonl'}, {out / 'annotated.mp4'}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the demo."""
    parser = argparse.ArgumentParser(prog="python -m posenet_ros.ros.tools.demo",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", help="video file to publish (default: the sample vtest.avi)")
    parser.add_argument("--frames", type=int, default=0, help="frames to send; 0: all")
    parser.add_argument("--rate", type=float, default=0.0, help="frames/s; 0: the video's")
    parser.add_argument("--out", default="out/demo", help="output directory (default out/demo)")
    # vtest's pedestrians are ~60 px tall: at tfjs's default 257 they shrink to ~20 px and
    # PoseNet finds about one in five; 513 finds most of them for ~10 ms more per frame.
    parser.add_argument("--resolution", type=int, default=513,
                        help="the node's input_resolution (default 513: small, distant people)")
    args = parser.parse_args(argv)
    # 1.3 MB frames exceed Fast DDS's default 512 KB shared-memory segment and go as UDP
    # fragments, whose reliable repair stalls for up to seconds (p95 6x the median); the
    # package's profile gives a 32 MB segment (p95 1.4x). Set before rclpy.init, and
    # inherited by the node process; a profile the user set wins.
    os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(
        Path(get_package_share_directory("posenet_ros")) / DELIVERY_PROFILE))
    rclpy.init()
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
