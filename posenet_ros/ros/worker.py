"""posenet_node's frame path: one worker thread from camera messages to published poses.

The subscription callbacks only put each stream's newest frame in the inbox
(:mod:`posenet_ros.ros.inbox`); this thread takes all pending frames, decodes them, runs the
engine once per image size over them (a batch) and publishes each stream's outputs. One image
flows one way: message -> RGB -> engine result -> PoseArray (+ markers, annotated image).
"""
from __future__ import annotations

import re
import threading
import time
import traceback
from typing import Any

from geometry_msgs.msg import Point, Pose as GeometryPose, PoseArray as GeometryPoseArray
from geometry_msgs.msg import Quaternion, Vector3
from posenet_ros.core.result import FrameResult
from posenet_ros.core.throttle import Throttle
from posenet_ros.estimator import PoseEstimator
from posenet_ros.imaging.ros_image import decode, ImageDecodeError
from posenet_ros.msg import Keypoint, Pose, PoseArray
from posenet_ros.outputs.draw import draw_poses
from posenet_ros.outputs.marker_geometry import MarkerSettings
from posenet_ros.outputs.markers import build_marker_array, MarkerClasses
from posenet_ros.outputs.pose_array import build_pose_array, MessageClasses
from posenet_ros.ros.diagnostics import FrameStats, FrameTimes
from posenet_ros.ros.images import rgb_to_image
from posenet_ros.ros.inbox import Frame, group_by_size, Inbox
from posenet_ros.ros.streams import Stream
from posenet_ros.stages.depth.depth_image import DepthError
from posenet_ros.stages.depth.lift import DepthConfig
from posenet_ros.stages.people import place_in_3d, stamp_seconds, track
from posenet_ros.stages.track.tracker import TrackerError
from rclpy.time import Time
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

LOG_THROTTLE = 5.0  # seconds between repeats of a per-frame error
# Seconds to wait for the batch in hand at shutdown: within launch's 5 s from SIGINT to SIGTERM.
STOP_TIMEOUT = 3.0
POSE_CLASSES = MessageClasses(Keypoint, Pose, PoseArray, Point)
MARKER_CLASSES = MarkerClasses(Marker, MarkerArray, Point, GeometryPose, Quaternion, Vector3,
                               ColorRGBA)


class FrameWorker:
    """The worker thread of an active posenet_node, and the inbox that feeds it."""

    def __init__(self, node, estimator: PoseEstimator, values: dict[str, Any],
                 stats: FrameStats, depth_config: DepthConfig | None) -> None:
        self._node = node
        self._log = node.get_logger()
        self._estimator = estimator
        self._values = values          # the node's parameter values, updated in place
        self._stats = stats
        self.depth_config = depth_config   # the node replaces it when parameters change
        self._throttle = Throttle(LOG_THROTTLE)   # per (stream, cause), with repeat counts
        self._inbox = Inbox()
        self._thread = threading.Thread(target=self._work, name="posenet_worker", daemon=True)
        self._thread.start()

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

    def _work(self) -> None:
        while (frames := self._inbox.take_all()) is not None:
            try:
                self._process(frames)
            except Exception:   # noqa: B902 -- the worker must outlive any one batch
                if not self._node.context.ok():
                    return      # Ctrl-C or SIGTERM shut rclpy down mid-batch: nowhere to publish
                self._stats.estimation_failed()
                self._error("batch", traceback.format_exc().splitlines()[-1],
                            f"batch of {len(frames)} frame(s) (stamps "
                            f"{', '.join(_stamp(f.msg) for f in frames)}) failed:\n"
                            f"{traceback.format_exc()}")

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
                self._error(frame.stream.name, str(exc),
                            f"skipping frame on {frame.stream.name} (stamp {_stamp(frame.msg)}): "
                            f"{exc}")
                continue
            frame.decode_seconds = time.perf_counter() - t0
            decoded.append(frame)
        for group in group_by_size(decoded):
            self._estimate_and_publish(group, taken)

    def _estimate_and_publish(self, group: list[Frame], taken: float) -> None:
        t1 = time.perf_counter()
        try:
            results = self._estimator.estimate_batch(
                [frame.rgb for frame in group], [f.stamp for f in group],
                [frame.stream.name for frame in group])
        except ValueError as exc:   # ImageError and friends: these frames only
            self._stats.estimation_failed(len(group))
            self._error(group[0].stream.name, str(exc),
                        f"no poses for {len(group)} frame(s) (stamps "
                        f"{', '.join(_stamp(f.msg) for f in group)}): {exc}")
            return
        t2 = time.perf_counter()
        self._stats.batch_run(len(group))
        for frame, result in zip(group, results):
            header, stream = frame.msg.header, frame.stream
            t_start = time.perf_counter()
            poses, tracker = list(result.poses), stream.tracker
            if tracker is not None:
                poses = self._track(stream, tracker, poses, frame.stamp)
            paired = False
            if stream.depth is not None:
                poses, paired = self._place_in_3d(stream, poses, frame.stamp, result.image_size)
            out = build_pose_array(
                POSE_CLASSES, result, header, box_min_score=self._values["min_keypoint_score"],
                poses=poses, tracking=tracker is not None,
                smoothing=tracker is not None and tracker.config.smoothing, depth=paired)
            t_built = time.perf_counter()
            stream.poses_pub.publish(out)
            if paired:
                stream.people_pub.publish(people_array(header, poses))
            t3 = time.perf_counter()
            age = self._node.get_clock().now() - Time.from_msg(header.stamp)
            self._publish_extras(stream, header, frame.rgb, result, poses)
            self._stats.frame_processed(FrameTimes(
                queue_wait=taken - frame.received, decode_image=frame.decode_seconds,
                engine=t2 - t1, build=t_built - t_start, publish=t3 - t_built,
                latency=t3 - frame.received, stamp_latency=age.nanoseconds * 1e-9,
                stages=result.times), stream.name)

    def _track(self, stream: Stream, tracker, poses: list, stamp: float) -> list:
        try:
            return track(tracker, poses, stamp)
        except TrackerError as exc:     # e.g. a NaN stamp: these poses go out untracked
            self._error(stream.name, str(exc), f"tracking skipped on {stream.name}: {exc}")
            return poses

    def _place_in_3d(self, stream: Stream, poses: list, stamp: float,
                     image_size: tuple[int, int]) -> tuple[list, bool]:
        """Poses with 3D from the depth frame paired by ``stamp``; 2D (and counted) without."""
        try:
            depth = stream.depth.match(stamp)
        except DepthError as exc:
            self._stats.count(stream.name, "depth_errors")
            self._error(stream.name, str(exc), f"depth frame on {stream.name} refused: {exc}")
            return poses, False
        if depth is None:
            self._stats.count(stream.name, "depth_unmatched")
            return poses, False
        if stream.camera is None:
            self._stats.count(stream.name, "depth_unmatched")
            self._error(stream.name, "no camera_info",
                        f"depth on {stream.name} needs the colour camera_info (K) to place "
                        "keypoints in 3D; publishing 2D until a valid one arrives")
            return poses, False
        self._stats.count(stream.name, "depth_paired")
        return place_in_3d(poses, depth, image_size, stream.camera, self.depth_config,
                           stream.depth.camera), True

    def _publish_extras(self, stream: Stream, header, rgb, result: FrameResult,
                        poses: list) -> None:
        """Publish markers and the annotated image, each only while someone subscribes."""
        v = self._values
        width, height = result.image_size
        if v["publish_markers"] and stream.markers_pub.get_subscription_count() > 0:
            settings = MarkerSettings(v["marker_depth"], v["marker_scale"],
                                      v["min_keypoint_score"])
            stream.markers_pub.publish(build_marker_array(
                MARKER_CLASSES, poses, header, width, height, settings, stream.camera))
        if stream.annotated_pub.get_subscription_count() > 0:
            canvas = draw_poses(rgb, poses, v["min_keypoint_score"])
            stream.annotated_pub.publish(rgb_to_image(canvas, header))
            self._stats.annotated()

    def _error(self, stream: str, cause: str, text: str) -> None:
        """Log ``text`` unless the same cause on this stream was logged within LOG_THROTTLE."""
        # Numbers (sizes, offsets) vary per frame; the kind of problem is the cause.
        line = self._throttle.report(stream, re.sub(r"\d+", "#", cause), text)
        if line is not None:
            self._log.error(line)


def people_array(header, poses: list) -> GeometryPoseArray:
    """geometry_msgs/PoseArray of the people with a 3D position (metres, optical frame)."""
    out = GeometryPoseArray(header=header)
    for pose in poses:
        if pose.position_3d is not None:
            x, y, z = pose.position_3d.tolist()
            out.poses.append(GeometryPose(position=Point(x=x, y=y, z=z)))
    return out


def _stamp(msg) -> str:
    return f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"
