"""Camera streams of one pose node: topic names, newest-frame slots, batches by image size.

With the ``image_topics`` parameter empty the node has one stream on today's topics
(``image``, ``camera_info``, ``poses``, ``markers``, ``image_annotated``). Each listed topic
adds a stream whose outputs live in the image topic's parent namespace: ``cam1/image_raw``
publishes ``cam1/poses``, ``cam1/markers``, ``cam1/image_annotated`` and reads
``cam1/camera_info``, as image_proc and friends do.

Every stream keeps only its newest pending frame (:mod:`posenet_ros.inbox`); the worker takes
all of them at once and runs frames of one size through the engine together.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from posenet_ros.config import ConfigError
from posenet_ros.marker_geometry import CameraModel
from posenet_ros.msg import PoseArray
from rclpy.exceptions import NameValidationException
from rclpy.validate_topic_name import validate_topic_name
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray


@dataclass(frozen=True)
class StreamTopics:
    """The unresolved topic names of one stream (relative ones resolve in the node namespace)."""

    image: str
    camera_info: str
    poses: str
    markers: str
    annotated: str


DEFAULT_TOPICS = StreamTopics("image", "camera_info", "poses", "markers", "image_annotated")


def topics_for(image_topic: str) -> StreamTopics:
    """Name a stream's topics after its image topic's parent namespace."""
    try:
        validate_topic_name(image_topic)
    except NameValidationException as exc:
        raise ConfigError(f"image_topics entry {image_topic!r} is not a topic name: "
                          f"{str(exc).splitlines()[0]}") from None
    parent = image_topic[:image_topic.rfind("/") + 1]     # "cam1/", "/robot/cam1/", "~/" or ""
    return StreamTopics(image_topic, parent + "camera_info", parent + "poses",
                        parent + "markers", parent + "image_annotated")


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
                f"image_topics {seen[topics.poses]!r} and {topics.image!r} would share the "
                f"outputs {topics.poses!r}: give each camera its own namespace")
        seen[topics.poses] = topics.image
    return streams


class Stream:
    """One camera: its image and CameraInfo subscriptions, outputs and newest pending frame."""

    def __init__(self, node, topics: StreamTopics, compressed: bool, qos,
                 on_image: Callable[[Stream, Any], None]) -> None:
        try:
            if compressed:
                self.subscription = node.create_subscription(
                    CompressedImage, topics.image + "/compressed",
                    lambda msg: on_image(self, msg), qos)
            else:
                self.subscription = node.create_subscription(
                    Image, topics.image, lambda msg: on_image(self, msg), qos)
        except NameValidationException as exc:   # e.g. "a//b": valid alone, not once expanded
            raise ConfigError(f"image topic {topics.image!r}: {str(exc).splitlines()[0]}") \
                from None
        self.name = self.subscription.topic_name      # resolved: labels logs and diagnostics
        self.camera: CameraModel | None = None
        node.create_subscription(CameraInfo, topics.camera_info, self._on_camera_info, qos)
        self.poses_pub = node.create_publisher(PoseArray, topics.poses, 10)
        self.markers_pub = node.create_publisher(MarkerArray, topics.markers, 10)
        self.annotated_pub = node.create_publisher(Image, topics.annotated, 1)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.camera = CameraModel.from_camera_info(msg)
