"""Camera streams of one pose node: topic names, newest-frame slots, batches by image size.

With the ``image_topics`` parameter empty the node has one stream on today's topics
(``image``, ``camera_info``, ``poses``, ``markers``, ``image_annotated``, ``image_annotations``).
Each listed topic adds a stream whose outputs live in the image topic's parent namespace:
``cam1/image_raw`` publishes ``cam1/poses``, ``cam1/markers``, ``cam1/image_annotated``,
``cam1/image_annotations`` and reads ``cam1/camera_info``, as image_proc and friends do.
``image_annotations`` (foxglove_msgs/ImageAnnotations) exists only where foxglove_msgs imports.

Every stream keeps only its newest pending frame (:mod:`posenet_ros.ros.inbox`); the worker takes
all of them at once and runs frames of one size through the engine together.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import time
from typing import Any

from geometry_msgs.msg import PoseArray as GeometryPoseArray
from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core.config import ConfigError
from posenet_ros.core.throttle import shorten
from posenet_ros.msg import PoseArray
from posenet_ros.ros.camera_info import CameraInfoInput
from posenet_ros.ros.delivery import DeliveryMonitor
from posenet_ros.ros.depth_input import DepthInput
from posenet_ros.ros.optional_msgs import message_module
from posenet_ros.stages.depth.lift import DepthConfig
from posenet_ros.stages.depth.sample import DepthSample
from rclpy.exceptions import NameValidationException
from rclpy.qos import ReliabilityPolicy
from rclpy.validate_topic_name import validate_topic_name
from sensor_msgs.msg import CompressedImage, Image
from visualization_msgs.msg import MarkerArray
try:
    from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
except ImportError:   # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks, UnsupportedEventTypeError


@dataclass(frozen=True)
class StreamTopics:
    """The unresolved topic names of one stream (relative ones resolve in the node namespace)."""

    image: str
    camera_info: str
    poses: str
    markers: str
    annotated: str
    depth_image: str          # aligned depth (use_depth)
    depth_camera_info: str
    people: str               # geometry_msgs/PoseArray: people with a 3D position
    annotations: str = ""     # foxglove_msgs/ImageAnnotations

    @classmethod
    def under(cls, parent: str, image: str) -> StreamTopics:
        """Name the topics of the stream whose image topic ``image`` lies in ``parent``."""
        return cls(image, parent + "camera_info", parent + "poses", parent + "markers",
                   parent + "image_annotated", parent + "depth/image",
                   parent + "depth/camera_info", parent + "people",
                   parent + "image_annotations")


DEFAULT_TOPICS = StreamTopics.under("", "image")


def topics_for(image_topic: str) -> StreamTopics:
    """Name a stream's topics after its image topic's parent namespace."""
    try:
        validate_topic_name(image_topic)
    except NameValidationException as exc:
        raise ConfigError(f"image_topics entry {shorten(image_topic)} is not a topic name: "
                          f"{str(exc).splitlines()[0]}") from None
    parent = image_topic[:image_topic.rfind("/") + 1]     # "cam1/", "/robot/cam1/", "~/" or ""
    return StreamTopics.under(parent, image_topic)


def stream_topics(image_topics: Sequence[str]) -> list[StreamTopics]:
    """Topics of every stream for the ``image_topics`` parameter; raises ConfigError.

    Two image topics in one namespace would publish on the same ``poses``: refused.
    """
    if not image_topics:
        return [DEFAULT_TOPICS]
    streams = [topics_for(topic) for topic in image_topics]
    seen: dict[str, str] = {}
    for topics in streams:
        if topics.poses in seen:
            raise ConfigError(
                f"image_topics {shorten(seen[topics.poses])} and {shorten(topics.image)} would "
                f"share the outputs {shorten(topics.poses)}: give each camera its own namespace")
        seen[topics.poses] = topics.image
    return streams


def resolved_name(node, topic: str) -> str:
    """Return ``topic`` expanded in ``node``'s namespace; ConfigError when it cannot be.

    Some names pass the name rules alone but not once expanded (``a//b``).
    """
    try:
        return node.resolve_topic_name(topic)
    except (NameValidationException, RuntimeError) as exc:   # rcl's own check raises the latter
        raise ConfigError(f"image topic {shorten(topic)}: {str(exc).splitlines()[0]}") \
            from None


class Stream:
    """One camera: its outputs, its CameraInfo, and (while active) its image subscription.

    The posenet_node lifecycle drives it: outputs and CameraInfo exist from configure to
    cleanup, the image subscription only while active, so an inactive node takes no frames.
    """

    def __init__(self, node, topics: StreamTopics, qos, depth: DepthConfig | None) -> None:
        self.topics = topics
        self._qos = qos
        self.name = resolved_name(node, topics.image)      # labels logs and diagnostics
        self.subscription = None
        self.delivery: DeliveryMonitor | None = None   # while subscribed
        self._camera_info = CameraInfoInput(node, topics.camera_info, qos, "colour image")
        self.depth = (DepthInput(node, topics.depth_image, topics.depth_camera_info, qos,
                                 depth.tolerance_s, depth.buffer) if depth else None)
        self.poses_pub = node.create_lifecycle_publisher(PoseArray, topics.poses, 10)
        self.markers_pub = node.create_lifecycle_publisher(MarkerArray, topics.markers, 10)
        self.annotated_pub = node.create_lifecycle_publisher(Image, topics.annotated, 1)
        self.people_pub = (node.create_lifecycle_publisher(GeometryPoseArray, topics.people, 10)
                           if depth else None)
        foxglove = message_module("foxglove_msgs", node.get_logger())
        self.annotations_pub = (node.create_lifecycle_publisher(
            foxglove.ImageAnnotations, topics.annotations, 1) if foxglove else None)

    @property
    def camera(self) -> CameraModel | None:
        """Return the colour camera's model, once a valid CameraInfo arrived."""
        return self._camera_info.camera

    def depth_sample(self, stamp: float) -> DepthSample | None:
        """Return the depth paired with a colour frame's ``stamp``; None without use_depth."""
        if self.depth is None:
            return None
        return self.depth.sample(stamp, self.camera)

    def subscribe(self, node, compressed: bool, on_image: Callable[[Stream, Any], None]) -> None:
        """Start taking frames (activate)."""
        kind, topic = ((CompressedImage, self.topics.image + "/compressed") if compressed
                       else (Image, self.topics.image))
        delivery = DeliveryMonitor(
            node.resolve_topic_name(topic),
            reliable=self._qos.reliability == ReliabilityPolicy.RELIABLE)
        # The middleware's count of frames lost on the way (sequence gaps of a best-effort
        # writer): exact, and there before any frame of a lossy camera gets through.
        events = SubscriptionEventCallbacks(message_lost=lambda info: delivery.transport_lost(
            info.total_count_change, time.monotonic()))

        def on_msg(msg) -> None:
            on_image(self, msg)

        try:
            self.subscription = node.create_subscription(kind, topic, on_msg, self._qos,
                                                         event_callbacks=events)
        except UnsupportedEventTypeError:   # an RMW without the event: stamps still tell
            self.subscription = node.create_subscription(kind, topic, on_msg, self._qos)
        self.delivery = delivery

    def unsubscribe(self, node) -> None:
        """Stop taking frames (deactivate); outputs and CameraInfo stay."""
        if self.subscription is not None:
            node.destroy_subscription(self.subscription)
            self.subscription = None

    def destroy(self, node) -> None:
        """Free every entity (cleanup)."""
        self.unsubscribe(node)
        self._camera_info.destroy(node)
        if self.depth is not None:
            self.depth.destroy(node)
        for pub in (self.poses_pub, self.markers_pub, self.annotated_pub, self.people_pub,
                    self.annotations_pub):
            if pub is not None:
                node.destroy_lifecycle_publisher(pub)
