"""``posenet_node``: PoseNet on a ROS 2 image topic.

Subscribes ``image`` (sensor_msgs/Image, or sensor_msgs/CompressedImage on
``image/compressed`` when ``image_transport`` is ``compressed``) and ``camera_info``; publishes
``poses`` (posenet_ros/PoseArray, header copied from the image), ``markers``
(visualization_msgs/MarkerArray) and ``image_annotated`` (sensor_msgs/Image, rgb8) and a
status on ``/diagnostics``. Markers and annotated images are only computed while someone
subscribes. With ``image_topics`` set, each listed camera is a stream with these topics in
its own namespace (:mod:`posenet_ros.ros.streams`).

The subscription callbacks only keep each stream's newest frame; one worker thread takes
all pending frames and runs the engine once per image size over them (a batch). A frame
that arrives before the worker took its stream's previous one replaces it (counted as
dropped), so the queue never grows and latency stays bounded by one batch when the
cameras are faster than the model.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Pose as GeometryPose, Quaternion, Vector3
from posenet_ros.config import ConfigError
from posenet_ros.draw import draw_poses
from posenet_ros.estimator import PoseEstimator
from posenet_ros.image_decode import decode, ImageDecodeError
from posenet_ros.inbox import Frame, group_by_size, Inbox
from posenet_ros.marker_geometry import MarkerSettings
from posenet_ros.messages.markers import build_marker_array, MarkerClasses
from posenet_ros.messages.pose_array import build_pose_array, MessageClasses
from posenet_ros.msg import Keypoint, Pose, PoseArray
from posenet_ros.result import FrameResult
from posenet_ros.ros import parameters
from posenet_ros.ros.diagnostics import FrameStats, FrameTimes
from posenet_ros.ros.images import rgb_to_image
from posenet_ros.ros.run import run_node
from posenet_ros.ros.streams import Stream, stream_topics
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

DIAGNOSTICS_PERIOD = 1.0
LOG_THROTTLE = 5.0  # seconds between repeats of a per-frame error
POSE_CLASSES = MessageClasses(Keypoint, Pose, PoseArray, Point)
MARKER_CLASSES = MarkerClasses(Marker, MarkerArray, Point, GeometryPose, Quaternion, Vector3,
                               ColorRGBA)


class PoseNetNode(Node):
    """Adapts PoseEstimator to topics; all pose work is the engine's."""

    def __init__(self, **kwargs) -> None:
        super().__init__("posenet_node", **kwargs)
        self._values = parameters.declare(self)
        topics = stream_topics(self._values["image_topics"])   # bad names: before model load
        self._estimator = PoseEstimator(parameters.estimator_config(self._values))
        self._inbox = Inbox()

        v = self._values
        reliable = v["qos_reliability"] == "reliable"
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=v["qos_depth"],
                         reliability=(ReliabilityPolicy.RELIABLE if reliable
                                      else ReliabilityPolicy.BEST_EFFORT))
        compressed = v["image_transport"] == "compressed"
        self._streams = [Stream(self, names, compressed, qos, self._on_image)
                         for names in topics]
        self._stats = FrameStats([stream.name for stream in self._streams])
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._last_report = time.monotonic()
        self.create_timer(DIAGNOSTICS_PERIOD, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._worker = threading.Thread(target=self._work, name="posenet_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"{self._estimator.model_name} on {self._estimator.providers[0]}, decoder "
            f"{self._estimator.config.decoder}; listening on "
            f"{', '.join(stream.name for stream in self._streams)} "
            f"({v['image_transport']}, {v['qos_reliability']})")

    # -- callbacks (executor thread) ---------------------------------------------------------

    def _on_image(self, stream: Stream, msg) -> None:
        replaced = self._inbox.put(Frame(stream, msg, time.perf_counter()))
        self._stats.frame_received(replaced, stream.name)

    def _on_set_parameters(self, params) -> SetParametersResult:
        changed = {p.name: p.value for p in params}
        try:
            for name, value in changed.items():
                parameters.check_choice(name, value)
            engine = parameters.engine_changes(changed)
            if engine:   # a new session is built here; the worker keeps the old until then
                self._estimator.reconfigure(**engine)
        except (ConfigError, ValueError, RuntimeError, OSError) as exc:
            self.get_logger().warning(f"refused parameter change {changed}: {exc}")
            return SetParametersResult(successful=False, reason=str(exc))
        self._values.update(changed)
        self.get_logger().info(f"parameters set: {changed}")
        return SetParametersResult(successful=True)

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        period, self._last_report = max(now - self._last_report, 1e-6), now
        est = self._estimator
        status = self._stats.report(
            f"{self.get_namespace().rstrip('/')}/{self.get_name()}: pose estimation",
            est.providers[0], period,
            {"model": est.model_name, "providers": ",".join(est.providers),
             "decoder": est.config.decoder, "output_stride": str(est.config.output_stride)})
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)

    # -- worker thread -----------------------------------------------------------------------

    def _work(self) -> None:
        while (frames := self._inbox.take_all()) is not None:
            try:
                self._process(frames)
            except Exception:   # noqa: B902 -- the worker must outlive any one batch
                if not self.context.ok():
                    return      # Ctrl-C or SIGTERM shut rclpy down mid-batch: nowhere to publish
                self._stats.estimation_failed()
                self.get_logger().error(
                    f"batch of {len(frames)} frame(s) (stamps "
                    f"{', '.join(_stamp(f.msg) for f in frames)}) failed:\n"
                    f"{traceback.format_exc()}", throttle_duration_sec=LOG_THROTTLE)

    def _process(self, frames: list[Frame]) -> None:
        """Decode every frame, then run the engine once per image size and publish."""
        taken = time.perf_counter()
        decoded = []
        for frame in frames:
            t0 = time.perf_counter()
            try:
                frame.rgb = decode(frame.msg, self._values["max_image_pixels"])
            except ImageDecodeError as exc:
                self._stats.decode_failed(frame.stream.name)
                self.get_logger().error(
                    f"skipping frame on {frame.stream.name} (stamp {_stamp(frame.msg)}): {exc}",
                    throttle_duration_sec=LOG_THROTTLE)
                continue
            frame.decode_seconds = time.perf_counter() - t0
            decoded.append(frame)
        for group in group_by_size(decoded):
            self._estimate_and_publish(group, taken)

    def _estimate_and_publish(self, group: list[Frame], taken: float) -> None:
        t1 = time.perf_counter()
        try:
            results = self._estimator.estimate_batch(
                [frame.rgb for frame in group], [_seconds(f.msg) for f in group],
                [frame.stream.name for frame in group])
        except ValueError as exc:   # ImageError and friends: these frames only
            self._stats.estimation_failed(len(group))
            self.get_logger().error(
                f"no poses for {len(group)} frame(s) (stamps "
                f"{', '.join(_stamp(f.msg) for f in group)}): {exc}",
                throttle_duration_sec=LOG_THROTTLE)
            return
        t2 = time.perf_counter()
        self._stats.batch_run(len(group))
        for frame, result in zip(group, results):
            header, stream = frame.msg.header, frame.stream
            t_start = time.perf_counter()
            out = build_pose_array(POSE_CLASSES, result, header,
                                   box_min_score=self._values["min_keypoint_score"])
            t_built = time.perf_counter()
            stream.poses_pub.publish(out)
            t3 = time.perf_counter()
            age = self.get_clock().now() - Time.from_msg(header.stamp)
            self._publish_extras(stream, header, frame.rgb, result)
            self._stats.frame_processed(FrameTimes(
                queue_wait=taken - frame.received, decode_image=frame.decode_seconds,
                engine=t2 - t1, build=t_built - t_start, publish=t3 - t_built,
                latency=t3 - frame.received, stamp_latency=age.nanoseconds * 1e-9,
                stages=result.times), stream.name)

    def _publish_extras(self, stream: Stream, header, rgb, result: FrameResult) -> None:
        """Publish markers and the annotated image, each only while someone subscribes."""
        v = self._values
        width, height = result.image_size
        if v["publish_markers"] and stream.markers_pub.get_subscription_count() > 0:
            settings = MarkerSettings(v["marker_depth"], v["marker_scale"],
                                      v["min_keypoint_score"])
            stream.markers_pub.publish(build_marker_array(
                MARKER_CLASSES, result.poses, header, width, height, settings, stream.camera))
        if stream.annotated_pub.get_subscription_count() > 0:
            canvas = draw_poses(rgb, result.poses, v["min_keypoint_score"])
            stream.annotated_pub.publish(rgb_to_image(canvas, header))
            self._stats.annotated()

    def close(self) -> None:
        """Stop the worker (after the batch in hand, if any)."""
        self._inbox.stop()
        self._worker.join(timeout=10.0)


def _stamp(msg) -> str:
    return f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"


def _seconds(msg) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C or an external shutdown; 0 then, 2 when it cannot start."""
    # Bad settings or a missing model: ConfigError, OSError (file), RuntimeError (ONNX Runtime).
    return run_node("posenet_node", PoseNetNode, (ConfigError, OSError, RuntimeError), args=args)


if __name__ == "__main__":
    sys.exit(main())
