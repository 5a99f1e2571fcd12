"""``posenet_node``: pose estimation on ROS 2 image topics, as a managed (lifecycle) node.

Subscribes ``image`` (sensor_msgs/Image, or sensor_msgs/CompressedImage on
``image/compressed`` when ``image_transport`` is ``compressed``) and ``camera_info``; publishes
``poses`` (posenet_ros/PoseArray, header copied from the image), ``markers``
(visualization_msgs/MarkerArray) and ``image_annotated`` (sensor_msgs/Image, rgb8) and a
status on ``/diagnostics``. Markers and annotated images are only computed while someone
subscribes. With ``image_topics`` set, each listed camera is a stream with these topics in
its own namespace (:mod:`posenet_ros.ros.streams`).

All pose work is :class:`~posenet_ros.stages.pipeline.PosePipeline`'s, built from the
parameters' :class:`~posenet_ros.ros.parameters.NodeSettings`; a parameter change builds the
next pipeline and settings here (the executor thread) and hands them to the worker whole.

Lifecycle: *configure* loads the model and creates the outputs, *activate* subscribes and
starts the worker (:mod:`posenet_ros.ros.worker`), *deactivate* stops taking frames but keeps
the model loaded, *cleanup* frees model and outputs. With ``autostart`` (the default) the
node configures and activates itself, so ``ros2 run`` and the launch files need no lifecycle
manager; ``autostart:=false`` leaves that to one (e.g. nav2_lifecycle_manager).
"""
from __future__ import annotations

import sys
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from posenet_ros.core.config import ConfigError
from posenet_ros.core.throttle import shorten
from posenet_ros.ros import parameters
from posenet_ros.ros.diagnostics import FrameStats
from posenet_ros.ros.input_hint import InputHints
from posenet_ros.ros.ros_logging import route_python_logging
from posenet_ros.ros.run import run_node
from posenet_ros.ros.streams import resolved_name, Stream, stream_topics
from posenet_ros.ros.worker import FrameWorker
from posenet_ros.stages.pipeline import PosePipeline
from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

DIAGNOSTICS_PERIOD = 1.0
EXIT_DELAY = 0.2       # seconds between a lifecycle shutdown and the process ending
MAX_REASON = 300        # characters of a refusal reason (it may quote a sender's value)
# Bad settings or a missing model: ConfigError, OSError (file), RuntimeError (ONNX Runtime).
LOAD_ERRORS = (ConfigError, OSError, RuntimeError)


class PoseNetNode(LifecycleNode):
    """Adapts PosePipeline to topics; all pose work is the pipeline's."""

    def __init__(self, **kwargs) -> None:
        super().__init__("posenet_node", **kwargs)
        route_python_logging(self.get_logger())     # the engine's lines on /rosout too
        self._values = parameters.declare(self)
        self._settings = parameters.settings(self._values)
        self._topics = stream_topics(self._values["image_topics"])   # bad names: before load
        for topics in self._topics:
            resolved_name(self, topics.image)
        self._pipeline: PosePipeline | None = None
        self._streams: list[Stream] = []
        self._worker: FrameWorker | None = None
        self._stats = FrameStats()
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._last_report = time.monotonic()
        self._hints = InputHints(self)      # which image topics exist, when none is heard
        self.create_timer(DIAGNOSTICS_PERIOD, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self._values["autostart"]:
            # Load here so that a bad model stops start-up with its reason (exit 2).
            self._pipeline = PosePipeline(self._settings.pipeline)
            if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                raise ConfigError("configure failed (the line above says why)")
            self.trigger_activate()

    # -- lifecycle transitions ---------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._pipeline is None:
            try:
                self._pipeline = PosePipeline(self._settings.pipeline)
            except LOAD_ERRORS as exc:
                self.get_logger().error(f"cannot configure: {exc}")
                return TransitionCallbackReturn.FAILURE
        v = self._values
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=v["qos_depth"],
                         reliability=(ReliabilityPolicy.RELIABLE
                                      if v["qos_reliability"] == "reliable"
                                      else ReliabilityPolicy.BEST_EFFORT))
        depth = self._settings.pipeline.depth
        try:
            for topics in self._topics:
                self._streams.append(Stream(self, topics, qos, depth))
        except ConfigError as exc:
            self.get_logger().error(f"cannot configure: {exc}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self._stats = FrameStats([stream.name for stream in self._streams])
        est = self._pipeline.estimator
        self.get_logger().info(
            f"configured: {est.model_name} on {est.providers[0]}, decoder {est.config.decoder}"
            f"; streams {', '.join(s.name for s in self._streams)} "
            f"({v['image_transport']}, {v['qos_reliability']})")
        return super().on_configure(state)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._worker = FrameWorker(self, self._stats, self._pipeline, self._settings.outputs)
        compressed = self._values["image_transport"] == "compressed"
        for stream in self._streams:
            stream.subscribe(self, compressed, self._worker.on_image)
        self.get_logger().info("active: listening")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_work()
        self.get_logger().info("inactive: not taking frames (model stays loaded)")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        # A finalized node serves nothing and cannot come back: the process ends (exit 0)
        # once the transition's reply is on its way, as a lifecycle manager expects.
        self._release()
        self.get_logger().info("shut down by a lifecycle transition: exiting")
        self._exit_timer = self.create_timer(EXIT_DELAY, self._exit)
        return super().on_shutdown(state)

    def _exit(self) -> None:
        self.destroy_timer(self._exit_timer)
        self.context.try_shutdown()

    def _stop_work(self) -> None:
        for stream in self._streams:
            stream.unsubscribe(self)
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _release(self) -> None:
        self._stop_work()
        for stream in self._streams:
            stream.destroy(self)
        self._streams = []
        self._pipeline = None

    # -- parameters and diagnostics (executor thread) -----------------------------------------

    def _on_set_parameters(self, params) -> SetParametersResult:
        changed = {p.name: p.value for p in params}
        shown = ", ".join(f"{name}={shorten(value)}" for name, value in changed.items())
        try:
            for name, value in changed.items():
                parameters.check_choice(name, value)
            values = {**self._values, **changed}
            settings = parameters.settings(values)
            # A new model is loaded here, while the worker keeps running the old pipeline.
            pipeline = (self._pipeline.reconfigured(settings.pipeline)
                        if self._pipeline is not None else None)
        except Exception as exc:   # noqa: B902 -- a parameter set must never take the node down
            reason = str(exc) or type(exc).__name__
            reason = reason if len(reason) <= MAX_REASON else shorten(reason, MAX_REASON)
            self.get_logger().warning(f"refused parameter change {shown}: {reason}")
            return SetParametersResult(successful=False, reason=reason)
        if settings.pipeline.tracking != self._settings.pipeline.tracking:
            self.get_logger().info("tracking settings changed: track ids start again at 1")
        self._values, self._settings = values, settings
        if pipeline is not None:
            self._pipeline = pipeline
            if self._worker is not None:
                self._worker.use(pipeline, settings.outputs)
        self.get_logger().info(f"parameters set: {shown}")
        return SetParametersResult(successful=True)

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        period, self._last_report = max(now - self._last_report, 1e-6), now
        name = f"{self.get_namespace().rstrip('/')}/{self.get_name()}: pose estimation"
        est = self._pipeline.estimator if self._pipeline is not None else None
        if self._worker is None or est is None:
            status = DiagnosticStatus(
                level=DiagnosticStatus.OK, name=name, hardware_id="",
                message="inactive" if est is not None else "unconfigured")
        else:
            extra = {"model": est.model_name, "providers": ",".join(est.providers),
                     "decoder": est.config.decoder,
                     "output_stride": str(est.config.output_stride)}
            warnings = []
            for stream in self._streams:
                if stream.delivery is None:
                    continue
                self._hints.check(stream.subscription, stream.topics.image)
                report = stream.delivery.check(
                    time.monotonic(), self.count_publishers(stream.subscription.topic_name))
                extra.update({f"{stream.name} {k}": v for k, v in report.values().items()})
                if report.warning:
                    warnings.append(report.warning)
                if report.announce:     # once when it starts, then once a minute
                    self.get_logger().warning(report.warning)
            status = self._stats.report(name, est.providers[0], period, extra, warnings)
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)

    def close(self) -> None:
        """Stop the worker (after the batch in hand, if any)."""
        self._stop_work()


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C or an external shutdown; 0 then, 2 when it cannot start."""
    return run_node("posenet_node", PoseNetNode, LOAD_ERRORS, args=args)


if __name__ == "__main__":
    sys.exit(main())
