"""Transform lookups for ``target_frame``: tf2_ros's Buffer where it imports, else our own.

Every ROS install has tf2_ros: its Buffer and TransformListener are used as they are. Where
it does not import (the development venv: no wheel), :class:`TransformInput` subscribes
``/tf`` and ``/tf_static`` itself (tf2_msgs/TFMessage, the listener's QoS: /tf reliable
volatile, /tf_static reliable transient-local, depth 100) and feeds a
:class:`~posenet_ros.camera.transforms.TransformBuffer`, which keeps tf2's semantics.

Hostile ``/tf`` input never reaches the buffer: a transform it refuses (NaN, a quaternion
that is not unit, a frame that is its own parent or closes a loop, a 1 MB frame name) is
dropped with one throttled line naming the cause, a message over :data:`MAX_MESSAGE_BYTES` is
dropped before it is decoded, and the buffer's size is bounded.

A lookup waits, at most its timeout, only when tf2 calls the stamp an extrapolation (the
transforms of that moment are late, the usual case with moving frames): a frame that does not
exist or is not connected costs no wait per image. The worker calls it, never the executor,
which must keep delivering /tf meanwhile.
"""
from __future__ import annotations

import threading
import time
from types import ModuleType

from posenet_ros.camera.rigid import BadTransform, Rigid
from posenet_ros.camera.transforms import (
    CACHE_TIME_S, LookupFailed, TransformBuffer, TransformRefused)
from posenet_ros.core.stamps import seconds, stamp_seconds
from posenet_ros.core.throttle import shorten, Throttle
from rclpy.duration import Duration
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rclpy.time import Time

# tf2_ros's DynamicListenerQoS and StaticListenerQoS.
TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.VOLATILE)
TF_STATIC_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)
# A robot's whole tree in one TFMessage is a few kilobytes; bigger ones are not decoded.
MAX_MESSAGE_BYTES = 1 << 20
LOG_PERIOD_S = 5.0


class TransformUnavailable(Exception):
    """No transform in time; ``cause`` is the kind (tf2's exception name or ours)."""

    def __init__(self, cause: str, reason: str) -> None:
        super().__init__(reason)
        self.cause = cause


class TransformInput:
    """Looks up target <- source at a stamp for one node, from tf2_ros or /tf itself."""

    def __init__(self, node, tf2_msgs: ModuleType | None) -> None:
        self._node = node
        self._subscriptions = []
        self._listener = None
        try:
            import tf2_ros
        except ImportError:
            tf2_ros = None
        if tf2_ros is not None:
            self._tf2 = tf2_ros
            # No node: with one, the Buffer would also serve tf2_frames (once per activation).
            self._tf2_buffer = tf2_ros.Buffer(cache_time=Duration(seconds=CACHE_TIME_S))
            self._listener = tf2_ros.TransformListener(self._tf2_buffer, node)
            return
        if tf2_msgs is None:
            raise ImportError("neither tf2_ros nor tf2_msgs imports: install ros-$ROS_DISTRO-"
                              "tf2-ros (or, in the development venv, `make build`)")
        self._tf2 = None
        self._message = tf2_msgs.TFMessage
        self._buffer = TransformBuffer()
        self._changed = threading.Condition()
        self._throttle = Throttle(LOG_PERIOD_S)
        for topic, qos, static in (("/tf", TF_QOS, False), ("/tf_static", TF_STATIC_QOS, True)):
            self._subscriptions.append(node.create_subscription(
                tf2_msgs.TFMessage, topic, lambda data, s=static: self._on_tf(data, s), qos,
                raw=True))

    def lookup(self, target: str, source: str, stamp, timeout: float) -> Rigid:
        """Return target <- source at ``stamp`` (builtin_interfaces/Time), waiting ``timeout`` s.

        Raises TransformUnavailable with tf2's reason.
        """
        if self._tf2 is not None:
            return self._lookup_tf2(target, source, stamp, timeout)
        when = seconds(stamp)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:     # again after each /tf message, and once more at the deadline
                try:
                    return self._buffer.lookup(target, source, when)
                except LookupFailed as exc:
                    failed = exc
                remaining = deadline - time.monotonic()
                if remaining <= 0 or failed.cause != "extrapolation":
                    raise TransformUnavailable(failed.cause, str(failed))
                self._changed.wait(remaining)

    def _lookup_tf2(self, target: str, source: str, stamp, timeout: float) -> Rigid:
        when = Time.from_msg(stamp)
        try:
            try:
                found = self._tf2_buffer.lookup_transform(target, source, when)
            except self._tf2.ExtrapolationException:    # late for this stamp: wait for it
                found = self._tf2_buffer.lookup_transform(target, source, when,
                                                          timeout=Duration(seconds=timeout))
        except self._tf2.TransformException as exc:
            raise TransformUnavailable(type(exc).__name__, str(exc)) from None
        t, q = found.transform.translation, found.transform.rotation
        try:
            return Rigid.checked((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))
        except BadTransform as exc:
            raise TransformUnavailable(exc.cause, str(exc)) from None

    def _on_tf(self, data: bytes, static: bool) -> None:
        """Subscription callback (executor thread): store each transform, or say why not."""
        topic = "/tf_static" if static else "/tf"
        if len(data) > MAX_MESSAGE_BYTES:
            self._warn(topic, "size", f"dropped a TFMessage of {len(data)} bytes on {topic}, "
                       f"over {MAX_MESSAGE_BYTES}: not decoded")
            return
        try:
            msg = deserialize_message(data, self._message)
        except Exception as exc:    # noqa: B902 -- crafted bytes must not end the executor
            self._warn(topic, "undecodable", f"dropped a TFMessage on {topic} that does not "
                       f"decode: {shorten(str(exc))}")
            return
        refused: list[TransformRefused] = []
        with self._changed:
            for t in msg.transforms:
                v, q = t.transform.translation, t.transform.rotation
                try:
                    self._buffer.set_transform(
                        t.header.frame_id, t.child_frame_id, stamp_seconds(t.header),
                        (v.x, v.y, v.z), (q.x, q.y, q.z, q.w), static=static)
                except TransformRefused as exc:
                    refused.append(exc)
            self._changed.notify_all()
        by_cause: dict[str, list[TransformRefused]] = {}
        for exc in refused:
            by_cause.setdefault(exc.cause, []).append(exc)
        for cause, same in by_cause.items():    # one line per kind of refusal, throttled
            more = f" ({len(same) - 1} more like it in this message)" if len(same) > 1 else ""
            self._warn(topic, cause, f"ignored a transform on {topic}: {same[0]}{more}")

    def _warn(self, topic: str, cause: str, text: str) -> None:
        line = self._throttle.report(topic, cause, text)
        if line is not None:
            self._node.get_logger().warning(line)

    def close(self) -> None:
        """Stop listening (the worker is done with lookups)."""
        for subscription in self._subscriptions:
            self._node.destroy_subscription(subscription)
        self._subscriptions = []
        if self._listener is not None and hasattr(self._listener, "unregister"):
            self._listener.unregister()
        self._listener = None
