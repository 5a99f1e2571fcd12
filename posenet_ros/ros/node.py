"""``posenet_node``: PoseNet on a ROS 2 image topic.

Subscribes ``image`` (sensor_msgs/Image, or sensor_msgs/CompressedImage on
``image/compressed`` when ``image_transport`` is ``compressed``) and ``camera_info``; publishes
``poses`` (posenet_ros/PoseArray, header copied from the image), ``markers``
(visualization_msgs/MarkerArray) and ``image_annotated`` (sensor_msgs/Image, rgb8) and a
status on ``/diagnostics``. Markers and annotated images are only computed while someone
subscribes.

The subscription callback only keeps the newest frame; one worker thread runs the engine
on it. A frame that arrives before the worker took the previous one replaces it (counted as
dropped), so the queue never grows and latency stays bounded by one inference when the
camera is faster than the model.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback

from diagnostic_msgs.msg import DiagnosticArray
from posenet_ros.config import ConfigError
from posenet_ros.draw import draw_poses
from posenet_ros.estimator import PoseEstimator
from posenet_ros.msg import PoseArray
from posenet_ros.ros import image_codec, messages, parameters
from posenet_ros.ros.diagnostics import FrameStats
from posenet_ros.ros.lifecycle import run_node
from posenet_ros.ros.markers import CameraModel, MarkerSettings, to_marker_array
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

DIAGNOSTICS_PERIOD = 1.0
LOG_THROTTLE = 5.0  # seconds between repeats of a per-frame error


class PoseNetNode(Node):
    """Adapts PoseEstimator to topics; all pose work is the engine's."""

    def __init__(self, **kwargs) -> None:
        super().__init__("posenet_node", **kwargs)
        self._values = parameters.declare(self)
        self._estimator = PoseEstimator(parameters.estimator_config(self._values))
        self._engine_lock = threading.Lock()   # the estimator is not thread-safe
        self._stats = FrameStats()
        self._camera: CameraModel | None = None
        self._pending = None                   # (message, receive time) or None
        self._wakeup = threading.Condition()
        self._stopping = False

        v = self._values
        reliable = v["qos_reliability"] == "reliable"
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=v["qos_depth"],
                         reliability=(ReliabilityPolicy.RELIABLE if reliable
                                      else ReliabilityPolicy.BEST_EFFORT))
        if v["image_transport"] == "compressed":
            image_sub = self.create_subscription(
                CompressedImage, "image/compressed", self._on_image, qos)
        else:
            image_sub = self.create_subscription(Image, "image", self._on_image, qos)
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos)
        self._poses_pub = self.create_publisher(PoseArray, "poses", 10)
        self._markers_pub = self.create_publisher(MarkerArray, "markers", 10)
        self._annotated_pub = self.create_publisher(Image, "image_annotated", 1)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._last_report = time.monotonic()
        self.create_timer(DIAGNOSTICS_PERIOD, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self._worker = threading.Thread(target=self._work, name="posenet_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"{self._estimator.model_name} on {self._estimator.providers[0]}, decoder "
            f"{self._estimator.config.decoder}; listening on "
            f"{image_sub.topic_name} ({v['image_transport']}, {v['qos_reliability']})")

    # -- callbacks (executor thread) ---------------------------------------------------------

    def _on_image(self, msg) -> None:
        received = time.perf_counter()
        with self._wakeup:
            replaced = self._pending is not None
            self._pending = (msg, received)
            self._wakeup.notify()
        self._stats.frame_received(replaced)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self._camera = CameraModel.from_camera_info(msg)

    def _on_set_parameters(self, params) -> SetParametersResult:
        changed = {p.name: p.value for p in params}
        try:
            for name, value in changed.items():
                parameters.check_choice(name, value)
            engine = parameters.engine_changes(changed)
            if engine:
                with self._engine_lock:
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
        while True:
            with self._wakeup:
                while self._pending is None and not self._stopping:
                    self._wakeup.wait()
                if self._stopping:
                    return
                (msg, received), self._pending = self._pending, None
            try:
                self._process(msg, received)
            except Exception:   # noqa: B902 -- the worker must outlive any one frame
                if not self.context.ok():
                    return      # Ctrl-C or SIGTERM shut rclpy down mid-frame: nowhere to publish
                self._stats.estimation_failed()
                self.get_logger().error(
                    f"frame (stamp {_stamp(msg)}) failed:\n{traceback.format_exc()}",
                    throttle_duration_sec=LOG_THROTTLE)

    def _process(self, msg, received: float) -> None:
        t0 = time.perf_counter()
        try:
            rgb = image_codec.decode(msg, self._values["max_image_pixels"])
        except image_codec.ImageDecodeError as exc:
            self._stats.decode_failed()
            self.get_logger().error(f"skipping frame (stamp {_stamp(msg)}): {exc}",
                                    throttle_duration_sec=LOG_THROTTLE)
            return
        t1 = time.perf_counter()
        height, width = rgb.shape[:2]
        try:
            with self._engine_lock:
                poses = self._estimator.estimate(rgb)
                engine_timings = dict(self._estimator.last_timings)
                config, model = self._estimator.config, self._estimator.model_name
        except ValueError as exc:   # ImageError and friends: this frame only
            self._stats.estimation_failed()
            self.get_logger().error(f"no poses for frame (stamp {_stamp(msg)}): {exc}",
                                    throttle_duration_sec=LOG_THROTTLE)
            return
        t2 = time.perf_counter()
        out = messages.to_pose_array(
            poses, msg.header, width, height, config, model, config.input_size(width, height))
        t_built = time.perf_counter()
        self._poses_pub.publish(out)
        t3 = time.perf_counter()
        age = self.get_clock().now() - Time.from_msg(msg.header.stamp)
        self._publish_extras(msg.header, rgb, poses)
        self._stats.frame_processed({
            "queue_wait": t0 - received, "decode_image": t1 - t0, "engine": t2 - t1,
            "build": t_built - t2, "publish": t3 - t_built, "node_overhead": (t3 - t0) - (t2 - t1),
            "latency": t3 - received, "stamp_latency": age.nanoseconds * 1e-9, **engine_timings})

    def _publish_extras(self, header, rgb, poses) -> None:
        """Publish markers and the annotated image, each only while someone subscribes."""
        v = self._values
        height, width = rgb.shape[:2]
        if v["publish_markers"] and self._markers_pub.get_subscription_count() > 0:
            settings = MarkerSettings(v["marker_depth"], v["marker_scale"],
                                      v["min_keypoint_score"])
            self._markers_pub.publish(
                to_marker_array(poses, header, width, height, settings, self._camera))
        if self._annotated_pub.get_subscription_count() > 0:
            canvas = draw_poses(rgb, poses, v["min_keypoint_score"])
            self._annotated_pub.publish(image_codec.rgb_to_image(canvas, header))
            self._stats.annotated()

    def close(self) -> None:
        """Stop the worker (after the frame in hand, if any)."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        self._worker.join(timeout=10.0)


def _stamp(msg) -> str:
    return f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C or an external shutdown; 0 then, 2 when it cannot start."""
    # Bad settings or a missing model: ConfigError, OSError (file), RuntimeError (ONNX Runtime).
    return run_node("posenet_node", PoseNetNode, (ConfigError, OSError, RuntimeError), args=args)


if __name__ == "__main__":
    sys.exit(main())
