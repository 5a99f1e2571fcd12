"""posenet_node's frame path: one worker thread from camera messages to published poses.

The subscription callbacks only put each stream's newest frame in the inbox
(:mod:`posenet_ros.ros.inbox`); this thread takes all pending frames, decodes them, runs the
pipeline once per image size over them (a batch) and publishes each stream's outputs. One
image flows one way: message -> RGB -> pipeline frame -> PoseArray (+ markers, image,
Foxglove image annotations, REP-155 bodies).
"""
from __future__ import annotations

from dataclasses import replace
import threading
import time
import traceback

from geometry_msgs.msg import Point, Pose as GeometryPose, PoseArray as GeometryPoseArray
from geometry_msgs.msg import Quaternion, Vector3
from posenet_ros.camera.rigid import transform_poses
from posenet_ros.core.stamps import stamp_seconds, stamp_text
from posenet_ros.core.throttle import cause_of, shorten, Throttle
from posenet_ros.imaging.ros_image import decode, ImageDecodeError
from posenet_ros.msg import Keypoint, Pose, PoseArray
from posenet_ros.outputs.draw import draw_poses
from posenet_ros.outputs.image_annotations import AnnotationClasses, build_image_annotations
from posenet_ros.outputs.markers import build_marker_array, MarkerClasses
from posenet_ros.outputs.people import build_people_array, PeopleClasses
from posenet_ros.outputs.pose_array import build_pose_array, MessageClasses
from posenet_ros.ros.body_tf import BodyFrames
from posenet_ros.ros.diagnostics import FrameStats, FrameTimes
from posenet_ros.ros.hri import HriBodies
from posenet_ros.ros.images import rgb_to_image
from posenet_ros.ros.inbox import Frame, group_by_size, Inbox
from posenet_ros.ros.optional_msgs import message_module
from posenet_ros.ros.parameters import OutputSettings
from posenet_ros.ros.streams import Stream
from posenet_ros.ros.tf_input import TransformInput, TransformUnavailable
from posenet_ros.stages.pipeline import PipelineFrame, PosePipeline
from rclpy.time import Time
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

LOG_THROTTLE = 5.0  # seconds between repeats of a per-frame error
# Seconds to wait for the batch in hand at shutdown: within launch's 5 s from SIGINT to SIGTERM.
STOP_TIMEOUT = 3.0
# How a pipeline frame's problem is logged, by kind (the throttle's cause).
PROBLEMS = {"refused": "depth frame on {stream} refused: {problem}",
            "no_camera_info": "depth on {stream} {problem}",
            "tracking": "tracking skipped on {stream}: {problem}"}
PEOPLE_CLASSES = PeopleClasses(GeometryPoseArray, GeometryPose, Point)
POSE_CLASSES = MessageClasses(Keypoint, Pose, PoseArray, Point)
MARKER_CLASSES = MarkerClasses(Marker, MarkerArray, Point, GeometryPose, Quaternion, Vector3,
                               ColorRGBA)


class FrameWorker:
    """The worker thread of an active posenet_node, and the inbox that feeds it.

    It runs one :class:`~posenet_ros.stages.pipeline.PosePipeline` and one set of output
    settings, taken together at the start of every batch; the node hands over new ones with
    :meth:`use`, so a parameter change applies whole from one batch to the next.
    """

    def __init__(self, node, stats: FrameStats, pipeline: PosePipeline,
                 outputs: OutputSettings) -> None:
        self._node = node
        self._log = node.get_logger()
        self._stats = stats
        self._active = (pipeline, outputs)
        self._throttle = Throttle(LOG_THROTTLE)   # per (stream, cause), with repeat counts
        self._inbox = Inbox()
        self._hri: HriBodies | None = None      # while hri is on (worker thread only)
        self._body_frames: BodyFrames | None = None   # once a frame with depth wants them
        self._no_body_frames = False            # neither tf2_ros nor tf2_msgs imports
        self._tf: TransformInput | None = None  # once target_frame is set with depth
        self._no_tf = ""                        # why there is none: tf2 does not import
        self._listen_tf(pipeline, outputs)
        self._thread = threading.Thread(target=self._work, name="posenet_worker", daemon=True)
        self._thread.start()

    def use(self, pipeline: PosePipeline, outputs: OutputSettings) -> None:
        """Run the next batch with ``pipeline`` and ``outputs`` (one assignment: atomic)."""
        self._listen_tf(pipeline, outputs)
        self._active = (pipeline, outputs)

    def _listen_tf(self, pipeline: PosePipeline, outputs: OutputSettings) -> None:
        """Start listening to TF when target_frame is first set with depth (executor thread).

        The listener then stays until the worker stops: its buffer holds the static
        transforms, which are sent once.
        """
        if (self._tf is not None or self._no_tf or not outputs.target_frame
                or pipeline.settings.depth is None):
            return
        try:
            self._tf = TransformInput(self._node, message_module("tf2_msgs"))
        except ImportError as exc:     # neither tf2_ros nor tf2_msgs
            self._no_tf = str(exc)
            self._log.warning(f"target_frame is off: {exc}")

    def on_image(self, stream: Stream, msg) -> None:
        """Subscription callback (executor thread): keep the stream's newest frame."""
        stamp = stamp_seconds(msg.header)   # once: the engine, tracker and depth share it
        replaced = self._inbox.put(Frame(stream, msg, time.perf_counter(), stamp))
        self._stats.frame_received(replaced, stream.name)
        stream.delivery.frame(stamp, time.monotonic(), len(msg.data), msg.header.frame_id)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop after the batch in hand, if any; pending frames are left unprocessed."""
        self._inbox.stop()
        self._thread.join(timeout=timeout)
        if not self._thread.is_alive():
            for output in (self._hri, self._body_frames, self._tf):
                if output is not None:
                    output.close()
            self._hri = self._body_frames = self._tf = None

    def _work(self) -> None:
        while (frames := self._inbox.take_all()) is not None:
            try:
                self._process(frames, *self._active)
            except Exception:   # noqa: B902 -- the worker must outlive any one batch
                if not self._node.context.ok():
                    return      # Ctrl-C or SIGTERM shut rclpy down mid-batch: nowhere to publish
                self._stats.estimation_failed()
                self._error("batch", "exception",
                            f"batch of {len(frames)} frame(s) (stamps "
                            f"{', '.join(_stamp(f.msg.header) for f in frames)}) failed:\n"
                            f"{traceback.format_exc()}")

    def _process(self, frames: list[Frame], pipeline: PosePipeline,
                 outputs: OutputSettings) -> None:
        """Decode every frame, then run the pipeline once per image size and publish."""
        taken = time.perf_counter()
        decoded = []
        for frame in frames:
            t0 = time.perf_counter()
            try:
                frame.rgb = decode(frame.msg, outputs.max_image_pixels)
            except ImageDecodeError as exc:
                self._stats.decode_failed(frame.stream.name)
                self._error(frame.stream.name, cause_of(exc),
                            f"skipping frame on {frame.stream.name} (stamp "
                            f"{_stamp(frame.msg.header)}): {exc}")
                continue
            frame.decode_seconds = time.perf_counter() - t0
            decoded.append(frame)
        for group in group_by_size(decoded):
            self._run_and_publish(group, taken, pipeline, outputs)

    def _run_and_publish(self, group: list[Frame], taken: float, pipeline: PosePipeline,
                         outputs: OutputSettings) -> None:
        t1 = time.perf_counter()
        try:
            results = pipeline.process_batch(
                [f.rgb for f in group], [f.stamp for f in group], [f.stream.name for f in group],
                [f.stream.depth_sample(f.stamp) for f in group])
        except ValueError as exc:   # ImageError and friends: these frames only
            self._stats.estimation_failed(len(group))
            self._error(group[0].stream.name, cause_of(exc),
                        f"no poses for {len(group)} frame(s) (stamps "
                        f"{', '.join(_stamp(f.msg.header) for f in group)}): {exc}")
            return
        t2 = time.perf_counter()
        self._stats.batch_run(len(group))
        for frame, result in zip(group, results):
            header, stream = frame.msg.header, frame.stream
            self._count_depth(stream.name, result)
            if result.problem is not None:
                kind = result.depth if result.depth in PROBLEMS else "tracking"
                self._error(stream.name, kind,
                            PROBLEMS[kind].format(stream=stream.name, problem=result.problem))
            t_start = time.perf_counter()
            placed, frame_3d = self._in_target_frame(stream.name, header, result, outputs)
            out = build_pose_array(POSE_CLASSES, placed, header, frame_id_3d=frame_3d,
                                   box_min_score=outputs.markers.min_keypoint_score)
            t_built = time.perf_counter()
            stream.poses_pub.publish(out)
            if result.has_3d:
                stream.people_pub.publish(build_people_array(
                    PEOPLE_CLASSES, Header(stamp=header.stamp, frame_id=frame_3d), placed.poses))
            t3 = time.perf_counter()
            age = self._node.get_clock().now() - Time.from_msg(header.stamp)
            self._publish_extras(stream, header, frame.rgb, result, outputs)
            self._publish_hri(stream, header, result, pipeline, outputs)
            if outputs.body_frames and result.has_3d:
                self._publish_body_frames(stream, header, result)
            self._stats.frame_processed(FrameTimes(
                queue_wait=taken - frame.received, decode_image=frame.decode_seconds,
                engine=t2 - t1, build=t_built - t_start, publish=t3 - t_built,
                latency=t3 - frame.received, stamp_latency=age.nanoseconds * 1e-9,
                stages=result.engine.times), stream.name)

    def _in_target_frame(self, stream: str, header, result: PipelineFrame,
                         outputs: OutputSettings) -> tuple[PipelineFrame, str]:
        """Return the frame with its 3D in target_frame, and the name of the frame it is in.

        The image's own frame when target_frame is unset or there is no 3D, and when the
        transform is not there within transform_timeout: then counted, and said in one
        throttled line. Markers and body frames keep the optical frame (TF chains them).
        """
        target, source = outputs.target_frame, header.frame_id
        if not target or not result.has_3d or target == source:
            return result, source
        try:
            if self._tf is None:
                raise TransformUnavailable("no tf2", self._no_tf or "no TF listener yet")
            moved = self._tf.lookup(target, source, header.stamp, outputs.transform_timeout)
        except TransformUnavailable as exc:
            self._stats.count(stream, "transform_missing")
            self._error(stream, f"transform: {exc.cause}",
                        f"3D on {stream} stays in {shorten(source)}: no transform from "
                        f"{shorten(source)} to target_frame {shorten(target)} at stamp "
                        f"{_stamp(header)} within {outputs.transform_timeout} s: {exc}",
                        warning=True)
            return result, source
        return replace(result, poses=transform_poses(result.poses, moved)), target

    def _count_depth(self, stream: str, result: PipelineFrame) -> None:
        if result.depth == "paired":
            self._stats.count(stream, "depth_paired")
        elif result.depth == "refused":
            self._stats.count(stream, "depth_errors")
        elif result.depth != "off":     # unmatched, or no colour camera_info yet
            self._stats.count(stream, "depth_unmatched")

    def _publish_extras(self, stream: Stream, header, rgb, result: PipelineFrame,
                        outputs: OutputSettings) -> None:
        """Publish markers and the annotated image, each only while someone subscribes."""
        width, height = result.engine.image_size
        markers = outputs.markers
        if outputs.publish_markers and stream.markers_pub.get_subscription_count() > 0:
            stream.markers_pub.publish(build_marker_array(
                MARKER_CLASSES, result.poses, header, width, height, markers, stream.camera))
        if stream.annotated_pub.get_subscription_count() > 0:
            canvas = draw_poses(rgb, result.poses, markers.min_keypoint_score)
            stream.annotated_pub.publish(rgb_to_image(canvas, header))
            self._stats.annotated()
        pub = stream.annotations_pub
        if pub is not None and pub.get_subscription_count() > 0:
            pub.publish(build_image_annotations(_annotation_classes(), result.poses,
                                                header.stamp, markers.min_keypoint_score))

    def _publish_hri(self, stream: Stream, header, result: PipelineFrame,
                     pipeline: PosePipeline, outputs: OutputSettings) -> None:
        """REP-155 body topics while ``hri`` is on (hri_msgs missing: said once, stays off)."""
        if not outputs.hri:
            if self._hri is not None:
                self._hri.close()
                self._hri = None
            return
        if self._hri is None:
            msgs = message_module("hri_msgs", self._log)
            if msgs is None:
                return
            self._hri = HriBodies(self._node, msgs)
        tracking = pipeline.settings.tracking
        self._hri.publish(stream.name, header, result,
                          tracking.max_age if tracking is not None else 0.0,
                          outputs.markers.min_keypoint_score)

    def _publish_body_frames(self, stream: Stream, header, result: PipelineFrame) -> None:
        if self._body_frames is None:
            if self._no_body_frames:
                return
            tf2_msgs = message_module("tf2_msgs")
            try:
                self._body_frames = BodyFrames(self._node, tf2_msgs)
            except ImportError as exc:     # neither tf2_ros nor tf2_msgs
                self._no_body_frames = True
                self._log.warning(f"body_frames is off: {exc}")
                return
        self._body_frames.publish(stream.name, header, result)

    def _error(self, stream: str, cause: str, text: str, warning: bool = False) -> None:
        """Log ``text`` unless the same cause on this stream was logged within LOG_THROTTLE.

        ``cause`` is the kind of problem, never a sender's text (:mod:`posenet_ros.core.throttle`).
        An error, or a warning where the frame still goes out.
        """
        line = self._throttle.report(stream, cause, text)
        if line is not None:
            (self._log.warning if warning else self._log.error)(line)


def _annotation_classes() -> AnnotationClasses:
    """foxglove_msgs' classes (only called where a Stream made its annotations publisher)."""
    msgs = message_module("foxglove_msgs")
    return AnnotationClasses(msgs.ImageAnnotations, msgs.PointsAnnotation, msgs.TextAnnotation,
                             msgs.Point2, msgs.Color)


def _stamp(header) -> str:
    return stamp_text(header.stamp.sec, header.stamp.nanosec)
