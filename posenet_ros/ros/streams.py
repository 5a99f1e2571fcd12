"""Camera streams of one pose node: topic names, newest-frame slots, batches by image size.

With the ``image_topics`` parameter empty the node has one stream on today's topics
(``image``, ``camera_info``, ``poses``, ``markers``, ``image_annotated``). Each listed topic
adds a stream whose outputs live in the image topic's parent namespace: ``cam1/image_raw``
publishes ``cam1/poses``, ``cam1/markers``, ``cam1/image_annotated`` and reads
``cam1/camera_info``, as image_proc and friends do.

Every stream keeps only its newest pending frame; the worker takes all of them at once and
runs frames of one size through the engine together (one ONNX Runtime run per size).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
import threading
from typing import Any

import numpy as np
from posenet_ros.config import ConfigError
from posenet_ros.msg import PoseArray
from posenet_ros.ros.markers import CameraModel
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


@dataclass
class Frame:
    """A message taken from a stream's slot, then its decoded pixels."""

    stream: Stream
    msg: Any
    received: float                   # perf_counter() in the subscription callback
    rgb: np.ndarray | None = None
    decode_seconds: float = 0.0


class Inbox:
    """The newest pending frame of each stream; the worker takes all of them at once.

    A frame that arrives before the worker took its stream's previous one replaces it (a
    drop), so nothing queues and latency stays bounded by one batch.
    """

    def __init__(self) -> None:
        self._pending: dict[Stream, Frame] = {}   # insertion order: first come, first batched
        self._wakeup = threading.Condition()
        self._stopping = False

    def put(self, frame: Frame) -> bool:
        """Store ``frame`` as its stream's newest; True when it replaced a pending one."""
        with self._wakeup:
            replaced = frame.stream in self._pending
            self._pending[frame.stream] = frame
            self._wakeup.notify()
        return replaced

    def take_all(self) -> list[Frame] | None:
        """Wait for at least one frame and take every pending one; None once stopped."""
        with self._wakeup:
            while not self._pending and not self._stopping:
                self._wakeup.wait()
            if self._stopping:
                return None
            frames, self._pending = list(self._pending.values()), {}
        return frames

    def stop(self) -> None:
        """Make take_all() return None (pending frames are left unprocessed)."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()


def group_by_size(frames: Iterable[Frame]) -> list[list[Frame]]:
    """Split decoded frames into groups of one image size, in order of first appearance.

    Frames of one size map to one network input, so each group is one estimate_batch call.
    """
    groups: dict[tuple[int, ...], list[Frame]] = {}
    for frame in frames:
        groups.setdefault(frame.rgb.shape, []).append(frame)
    return list(groups.values())
