"""``reactions_node``: gestures and a follow-the-person command from ``poses``.

Thin over :mod:`posenet_ros.reactions`. Subscribes ``poses`` (posenet_ros/PoseArray, with
3D when posenet_node pairs depth, in the frame its ``frame_id_3d`` names: distances are from
that frame's origin); publishes ``person_events`` (posenet_ros/PersonEvent:
gestures confirmed/ended, target changes) and ``cmd_vel`` (geometry_msgs/Twist).

``cmd_vel``: while ``enabled``, one Twist per PoseArray, and a watchdog publishes zero every
``pose_timeout`` / 2 while no PoseArray has arrived for ``pose_timeout`` seconds (node
clock). Turning ``enabled`` off publishes one zero, then nothing: a node that stops
commanding leaves ``cmd_vel`` to the other sources (a teleop mux), and so it is silent
while disabled from the start. Safety rules as in :mod:`posenet_ros.reactions.follow`.

Hostile input: a PoseArray of more than ``MAX_POSES`` poses is refused, and one whose
serialized size is over that many poses' worth is dropped before it is decoded (decoding is
what would hold up the watchdog); a refused message does not count as poses. People at an
impossible 3D position are never followed. Each cause is logged once, then at most every
few seconds with a count. Acceleration limits use the shorter of the stamps' and the node
clock's interval between PoseArrays.

Parameters are the fields of the reactions config classes (one table: their metadata), all
changeable at run time; a bad value is refused with the reason.
"""
from __future__ import annotations

from dataclasses import fields, MISSING, replace
import sys

from geometry_msgs.msg import Point, Twist, Vector3
from posenet_ros.core.config import ConfigError
from posenet_ros.core.keypoints import PART_NAMES
from posenet_ros.core.throttle import shorten, Throttle
from posenet_ros.msg import Keypoint, PersonEvent, Pose, PoseArray
from posenet_ros.outputs.person_event import build_person_event, EventClasses
from posenet_ros.reactions.config import FollowConfig, GestureConfig, TargetConfig
from posenet_ros.reactions.follow import Command
from posenet_ros.reactions.person import frame_from_pose_array, MAX_POSES, PosesRefused
from posenet_ros.reactions.reactor import Reactor
from posenet_ros.ros.run import run_node
from rcl_interfaces.msg import (
    FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult)
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header

CONFIGS = {"gestures": GestureConfig, "target": TargetConfig, "follow": FollowConfig}
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
EVENT_CLASSES = EventClasses(PersonEvent, Vector3, Point)
STRING_BYTES = 16384     # room for the header's frame_id and the model and decoder names


def descriptor(item) -> ParameterDescriptor:
    """Build a parameter descriptor from a config field's metadata."""
    meta = item.metadata
    choices = meta["choices"]
    result = ParameterDescriptor(description=meta["description"], additional_constraints=(
        f"one of {', '.join(choices)}" if choices else ""))
    bounds = meta["bounds"]
    if bounds is not None and isinstance(item.default, float):
        result.floating_point_range = [FloatingPointRange(
            from_value=float(bounds[0]), to_value=float(bounds[1]), step=0.0)]
    elif bounds is not None:
        result.integer_range = [IntegerRange(from_value=int(bounds[0]),
                                             to_value=int(bounds[1]), step=1)]
    return result


def serialized_limit(max_poses: int = MAX_POSES) -> int:
    """Bytes of a PoseArray of ``max_poses`` poses as posenet_node fills them, plus strings."""
    keypoints = [Keypoint(part_id=i, part_name=name) for i, name in enumerate(PART_NAMES)]
    empty = len(serialize_message(PoseArray()))
    one = len(serialize_message(PoseArray(poses=[Pose(keypoints=keypoints)])))
    return empty + max_poses * (one - empty) + STRING_BYTES


def twist(command: Command) -> Twist:
    msg = Twist()
    msg.linear.x, msg.angular.z = float(command.linear), float(command.angular)
    return msg


class ReactionsNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("reactions_node", **kwargs)
        self._owner = {item.name: group for group, cls in CONFIGS.items()
                       for item in fields(cls)}
        defaults = {group: cls() for group, cls in CONFIGS.items()}
        try:
            self.declare_parameters("", [
                (item.name, item.default if item.default is not MISSING else None,
                 descriptor(item)) for cls in CONFIGS.values() for item in fields(cls)])
            configs = {group: replace(defaults[group], **{
                item.name: self.get_parameter(item.name).value for item in fields(cls)})
                for group, cls in CONFIGS.items()}
        except ParameterException as exc:
            raise ConfigError(str(exc)) from None
        self._reactor = Reactor(configs["gestures"], configs["target"], configs["follow"])
        self._throttle = Throttle()
        self._max_bytes = serialized_limit()
        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", QOS)
        self._event_pub = self.create_publisher(PersonEvent, "person_events", QOS)
        # Raw: the size is checked before the message is decoded.
        self.create_subscription(PoseArray, "poses", self._on_poses, QOS, raw=True)
        self.add_on_set_parameters_callback(self._on_set)
        self._last_poses = None      # node-clock nanoseconds of the last PoseArray
        self._timed_out = False
        self._watchdog = self.create_timer(configs["follow"].pose_timeout / 2, self._check)
        self.get_logger().info(
            f"reacting to {self.resolve_topic_name('poses')}; cmd_vel "
            f"{'enabled' if configs['follow'].enabled else 'disabled (enabled:=true)'}")

    def _on_set(self, parameters) -> SetParametersResult:
        changes: dict[str, dict] = {}
        for parameter in parameters:
            if parameter.name in self._owner:
                changes.setdefault(self._owner[parameter.name], {})[parameter.name] = \
                    parameter.value
        current = {"gestures": self._reactor.gestures, "target": self._reactor.target_config,
                   "follow": self._reactor.follow}
        try:
            updated = {group: replace(current[group], **values)
                       for group, values in changes.items()}
        except (ConfigError, TypeError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        was_enabled = self._reactor.follow.enabled
        self._reactor.configure(**updated)
        if was_enabled and not self._reactor.follow.enabled:
            self._cmd_pub.publish(Twist())     # one zero, then cmd_vel is left to others
        if "follow" in updated:
            self._watchdog.timer_period_ns = int(self._reactor.follow.pose_timeout / 2 * 1e9)
        return SetParametersResult(successful=True)

    def _warn(self, cause: str, text: str) -> None:
        line = self._throttle.report("poses", cause, text)
        if line is not None:
            self.get_logger().warn(line)

    def _on_poses(self, data: bytes) -> None:
        if len(data) > self._max_bytes:
            self._warn("size", f"refused a PoseArray of {len(data) / 1e6:.1f} MB, over "
                       f"{self._max_bytes / 1e6:.1f} MB ({MAX_POSES} poses): not decoded, "
                       "not counted as poses")
            return
        try:
            msg = deserialize_message(data, PoseArray)
        except Exception as exc:    # noqa: B902 -- crafted bytes must not end the executor
            self._warn("undecodable", f"dropped a PoseArray that does not decode: "
                       f"{shorten(str(exc))}")
            return
        try:
            frame = frame_from_pose_array(msg)
        except PosesRefused as exc:
            self._warn("count", f"refused a PoseArray of {exc}: not counted as poses")
            return
        now = self.get_clock().now().nanoseconds
        self._last_poses, self._timed_out = now, False
        if frame.people and not msg.tracking:
            self._warn("untracked", "poses carry no track ids, so nobody can be the target: "
                       "turn tracking on in posenet_node (tracking:=true)")
        reaction = self._reactor.step(frame, now=now * 1e-9)
        if reaction.warnings:
            more = len(reaction.warnings) - 1
            self._warn("position", f"{reaction.warnings[0]}: not followed"
                       + (f" ({more} more in this frame)" if more else ""))
        if self._reactor.follow.enabled:
            self._cmd_pub.publish(twist(reaction.command))
        if reaction.events:     # stamped like the poses, in the frame their 3D is in
            header = Header(stamp=msg.header.stamp, frame_id=frame.frame_3d)
        for event in reaction.events:
            self._event_pub.publish(build_person_event(EVENT_CLASSES, replace(
                event, position=frame.message_axes(event.position),
                direction=(frame.message_axes(event.direction) if event.direction_3d
                           else event.direction)), header))

    def _check(self) -> None:
        if self._last_poses is None or not self._reactor.follow.enabled:
            return
        silent = (self.get_clock().now().nanoseconds - self._last_poses) * 1e-9
        if silent > self._reactor.follow.pose_timeout:
            if not self._timed_out:
                self.get_logger().warn(f"no poses for {silent:.2f} s: stopping")
            self._timed_out = True
            self._cmd_pub.publish(twist(self._reactor.timeout()))

    def close(self) -> None:
        """Leave the robot stopped."""
        if self._reactor.follow.enabled and self.context.ok():
            self._cmd_pub.publish(Twist())


def main(args: list[str] | None = None) -> int:
    """Run until Ctrl-C or an external shutdown."""
    return run_node("reactions_node", ReactionsNode, (ConfigError,), args=args)


if __name__ == "__main__":
    sys.exit(main())
