"""``camera_node``: a V4L2 camera or a video file, published as a ROS camera driver would.

Publishes ``image`` (sensor_msgs/Image, bgr8 as OpenCV delivers it), ``image/compressed``
(JPEG, encoded only while someone subscribes) and ``camera_info`` (same header), stamped
with the node clock at capture and ``frame_id``. Without a calibration file, CameraInfo is a
plausible pinhole (see :mod:`posenet_ros.ros.calibration`) and the node says so once.

``image``, not a driver's usual ``image_raw``: it is the topic posenet_node (like
image_view and ROS 2's own ``image_tools cam2image``/``showimage``) uses by default, so
``ros2 run posenet_ros camera_node`` and ``ros2 run posenet_ros posenet_node`` connect with
no remapping (``-r image:=image_raw`` gives a driver's name back).

``source``: a device index (``0``) or path (``/dev/video0``), or a video file; empty: the
sample video ``vtest.avi`` that setup fetched. Files play at ``rate`` (0: the file's own fps)
and loop when ``loop`` is true; devices deliver at their own pace (``rate`` then caps it).
"""
from __future__ import annotations

from pathlib import Path
import sys
import threading
import time

import cv2
from posenet_ros.core import paths
from posenet_ros.ros.calibration import CalibrationError, default_camera_info, load_camera_info
from posenet_ros.ros.images import pack_image
from posenet_ros.ros.run import run_node
from posenet_ros.ros.streams import DEFAULT_TOPICS
from rcl_interfaces.msg import ParameterDescriptor
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

# Reliable publishers match both reliable and best-effort subscribers. Frames this size need
# the package's Fast DDS profile between processes (camera.launch.py sets it).
QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
CLOSE_TIMEOUT = 2.0   # seconds to wait for the reader thread
# posenet_node's default input topics, so that the two connect as started (module docstring).
TOPIC, INFO_TOPIC = DEFAULT_TOPICS.image, DEFAULT_TOPICS.camera_info


class SourceError(RuntimeError):
    """The camera or video cannot be opened or read; says which and why."""


def open_source(source: str) -> tuple[cv2.VideoCapture, bool]:
    """Open ``source``; returns the capture and whether it is a live device."""
    source = str(source).strip()
    if not source:
        source = str(paths.require(paths.sample_video(), "sample video vtest.avi"))
    if source.isdigit() or source.startswith("/dev/video"):
        device = int(source) if source.isdigit() else source
        capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if not capture.isOpened():
            raise SourceError(f"cannot open camera {source!r} (V4L2): is it connected, and may "
                              "this user read it (group 'video')?")
        return capture, True
    if not Path(source).is_file():
        raise SourceError(f"video file {source} does not exist")
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise SourceError(f"OpenCV cannot decode video {source}")
    return capture, False


class CameraNode(Node):
    """Reads frames in its own thread (a device read blocks) and publishes them."""

    def __init__(self, **kwargs) -> None:
        super().__init__("camera_node", **kwargs)
        any_type = ParameterDescriptor(dynamic_typing=True, description=(
            "device index or /dev/videoN, or a video file; empty: the sample vtest.avi"))
        source = self.declare_parameter("source", "", any_type).value
        declare = self._declare
        rate = declare("rate", 0.0, "frames/s; 0: the file's fps (devices: as delivered)")
        self._loop = declare("loop", True, "restart a video file at its end")
        self._frame_id = declare("frame_id", "camera_optical_frame", "header frame_id "
                                 "(an optical frame: x right, y down, z forward)")
        calibration = declare("calibration_file", "", "camera_calibration_parsers YAML; "
                              "empty: a pinhole with a 60 degree horizontal field of view")
        self._size = (declare("width", 0, "resize frames to this width; 0: as captured"),
                      declare("height", 0, "resize frames to this height; 0: as captured"))
        self._max_frames = declare("max_frames", 0, "stop after this many frames; 0: never")
        self._jpeg_quality = declare("jpeg_quality", 90, "for image/compressed")

        self._capture, self._live = open_source(source)
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self._period = 1.0 / rate if rate > 0 else (0.0 if self._live else 1.0 / (fps or 30.0))
        width, height = self._frame_size()
        if calibration:
            self._info = load_camera_info(calibration, width, height)
        else:
            self._info = default_camera_info(width, height)
            self.get_logger().info(
                f"no calibration_file: CameraInfo is a pinhole guess (fx = fy = "
                f"{self._info.k[0]:.1f} px); markers on camera rays are only approximate")
        self._image_pub = self.create_publisher(Image, TOPIC, QOS)
        self._compressed_pub = self.create_publisher(CompressedImage, f"{TOPIC}/compressed", QOS)
        self._info_pub = self.create_publisher(CameraInfo, INFO_TOPIC, QOS)
        self.frames = 0
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera_reader", daemon=True)
        self._thread.start()
        self.get_logger().info(
            f"publishing {source or 'vtest.avi'} ({width}x{height}, "
            f"{'live' if self._live else f'{1 / self._period:.1f} fps'}) on "
            f"{self._image_pub.topic_name}")

    def _declare(self, name: str, default, description: str):
        return self.declare_parameter(
            name, default, ParameterDescriptor(description=description, read_only=True)).value

    def _frame_size(self) -> tuple[int, int]:
        width = self._size[0] or int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = self._size[1] or int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if self._live and any(self._size):
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        return width, height

    def _run(self) -> None:
        next_time = time.monotonic()
        while not self._stop.is_set():
            ok, frame = self._capture.read()
            if not ok:
                if not self._live and self._loop and self.frames:
                    self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                self.get_logger().info(f"source ended after {self.frames} frames")
                break
            try:
                self._publish(frame)
            except Exception:   # noqa: B902 -- only a shut-down context is expected here
                if self.context.ok():
                    raise
                break           # Ctrl-C or SIGTERM shut rclpy down mid-frame
            self.frames += 1
            if self._max_frames and self.frames >= self._max_frames:
                self.get_logger().info(f"published max_frames = {self.frames} frames")
                break
            next_time = max(next_time + self._period, time.monotonic() - self._period)
            self._stop.wait(max(0.0, next_time - time.monotonic()))
        self.finished.set()

    def _publish(self, frame) -> None:
        size = (self._info.width, self._info.height)
        if (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
        self._image_pub.publish(pack_image(frame, "bgr8", header))
        if self._compressed_pub.get_subscription_count() > 0:
            ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self._jpeg_quality])
            if ok:
                msg = CompressedImage(header=header, format="bgr8; jpeg compressed bgr8")
                msg.data = jpeg.tobytes()
                self._compressed_pub.publish(msg)
        self._info.header = header
        self._info_pub.publish(self._info)

    def close(self) -> None:
        """Stop reading and release the device or file.

        Bounded well inside ``ros2 launch``'s 5 s between SIGINT and SIGTERM: a reader stuck
        in a device read is left to the process exit rather than released under it.
        """
        self._stop.set()
        self._thread.join(timeout=CLOSE_TIMEOUT)
        if not self._thread.is_alive():
            self._capture.release()


def main(args: list[str] | None = None) -> int:
    """Publish until the source ends (or max_frames), Ctrl-C or an external shutdown."""
    def spin(node: CameraNode) -> None:
        while rclpy.ok() and not node.finished.is_set():
            rclpy.spin_once(node, timeout_sec=0.1)

    return run_node("camera_node", CameraNode, (SourceError, CalibrationError, OSError), spin,
                    args=args)


if __name__ == "__main__":
    sys.exit(main())
