"""REP-155 body topics of posenet_node (``hri:=true``): the rclpy side of outputs/rep155.py.

``/humans/bodies/tracked`` (hri_msgs/IdsList) lists the bodies of every stream after each frame;
each confirmed body gets ``/humans/bodies/<id>/skeleton2d`` (hri_msgs/Skeleton2D) and ``/roi``
(hri_msgs/NormalizedRegionOfInterest2D), publishers made on first sight and destroyed when the
track is gone (:class:`~posenet_ros.outputs.rep155.BodyRegistry`). Topic names are absolute, as
REP-155 fixes them. With several streams, bodies of the second and later get ``_<k>`` after
their id, since each stream's tracker counts from 1.
"""
from __future__ import annotations

from types import ModuleType

from posenet_ros.core.pose import UNTRACKED
from posenet_ros.core.stamps import stamp_seconds
from posenet_ros.outputs.rep155 import (BODIES_NAMESPACE, body_id, BodyRegistry, build_roi,
                                        build_skeleton2d, HriClasses)
from posenet_ros.stages.pipeline import PipelineFrame
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

QOS_DEPTH = 10
# libhri (ROS 2) reads a body's roi with reliable + transient_local (a new reader gets the last
# one): a volatile writer would never match it. Such a writer matches volatile readers too.
ROI_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


class HriBodies:
    """The REP-155 publishers of one node, for all its streams."""

    def __init__(self, node, msgs: ModuleType) -> None:
        self._node = node
        self._classes = HriClasses(msgs.IdsList, msgs.Skeleton2D,
                                   msgs.NormalizedPointOfInterest2D,
                                   msgs.NormalizedRegionOfInterest2D)
        self._tracked = node.create_publisher(msgs.IdsList, f"{BODIES_NAMESPACE}/tracked",
                                              QOS_DEPTH)
        self._streams: dict[str, tuple[str, BodyRegistry]] = {}   # name -> (suffix, bodies)
        self._publishers: dict[str, tuple] = {}     # body id -> (skeleton2d, roi)

    def publish(self, stream: str, header, frame: PipelineFrame, max_age: float,
                min_score: float) -> None:
        """Publish one frame's bodies and the tracked list; make and drop body topics."""
        suffix, registry = self._stream(stream)
        registry.max_age = max_age
        confirmed = [p for p in frame.poses if p.track_id != UNTRACKED]
        appeared, gone = registry.update([p.track_id for p in confirmed],
                                         stamp_seconds(header))
        for tid in gone:
            self._drop(body_id(tid) + suffix)
        for tid in appeared:
            self._add(body_id(tid) + suffix)
        width, height = frame.engine.image_size
        for pose in confirmed:
            pubs = self._publishers.get(body_id(pose.track_id) + suffix)
            if pubs is None:     # beyond max_bodies
                continue
            pubs[0].publish(build_skeleton2d(self._classes, pose, header, width, height))
            pubs[1].publish(build_roi(self._classes, pose, header, width, height, min_score))
        self._tracked.publish(self._classes.ids_list(header=header, ids=self.ids()))

    def ids(self) -> list[str]:
        """Every tracked body's id, stream by stream."""
        return [body_id(tid) + suffix for suffix, registry in self._streams.values()
                for tid in registry.seen]

    def close(self) -> None:
        """Destroy every publisher (deactivate, or hri turned off)."""
        for body in list(self._publishers):
            self._drop(body)
        self._node.destroy_publisher(self._tracked)
        self._streams.clear()

    def _stream(self, name: str) -> tuple[str, BodyRegistry]:
        if name not in self._streams:
            k = len(self._streams)
            self._streams[name] = (f"_{k}" if k else "", BodyRegistry())
        return self._streams[name]

    def _add(self, body: str) -> None:
        make = self._node.create_publisher
        prefix = f"{BODIES_NAMESPACE}/{body}"
        self._publishers[body] = (
            make(self._classes.skeleton2d, f"{prefix}/skeleton2d", QOS_DEPTH),
            make(self._classes.roi, f"{prefix}/roi", ROI_QOS))

    def _drop(self, body: str) -> None:
        for pub in self._publishers.pop(body, ()):
            self._node.destroy_publisher(pub)
