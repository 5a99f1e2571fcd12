"""``reactions_node``: gestures and a follow-the-person command from ``poses``.

Thin over :mod:`posenet_ros.reactions`. Subscribes ``poses`` (posenet_ros/PoseArray, with
3D when posenet_node pairs depth);
publishes ``person_events`` (posenet_ros/PersonEvent: gestures confirmed/ended, target
changes) and ``cmd_vel`` (geometry_msgs/Twist, one per PoseArray while ``enabled``).
Safety as in :mod:`posenet_ros.reactions.follow`; on top of it, a watchdog publishes zero
every ``pose_timeout`` / 2 while no PoseArray has arrived for ``pose_timeout`` seconds (node
clock), and turning ``enabled`` off publishes one zero and then leaves ``cmd_vel`` alone.
Parameters are the fields of the reactions config classes, all changeable at run time; a
bad value is refused with the reason.
"""
from __future__ import annotations

from dataclasses import fields, MISSING, replace
import sys

from geometry_msgs.msg import Point, Twist, Vector3
import numpy as np
from posenet_ros.core.config import ConfigError
from posenet_ros.msg import PersonEvent, PoseArray
from posenet_ros.reactions.config import FollowConfig, GestureConfig, TargetConfig
from posenet_ros.reactions.follow import Command
from posenet_ros.reactions.person import Frame, Person
from posenet_ros.reactions.reactor import Event, Reactor
from posenet_ros.ros.run import run_node
from posenet_ros.stages.people import stamp_seconds
from rcl_interfaces.msg import (
    FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult)
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

CONFIGS = {"gestures": GestureConfig, "target": TargetConfig, "follow": FollowConfig}
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


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


def person_from_msg(pose, depth: bool) -> Person:
    """Convert a posenet_ros/Pose to a Person; 3D only where the PoseArray had depth."""
    keypoints = np.array([(k.x, k.y) for k in pose.keypoints], dtype=np.float64)
    scores = np.array([k.score for k in pose.keypoints], dtype=np.float64)
    if not depth:
        return Person(int(pose.track_id), keypoints, scores)
    valid = np.array([k.valid_3d for k in pose.keypoints], dtype=bool)
    points = np.array([(k.position.x, k.position.y, k.position.z) for k in pose.keypoints])
    position = (np.array([pose.position.x, pose.position.y, pose.position.z])
                if pose.valid_3d else None)
    return Person(int(pose.track_id), keypoints, scores, points, valid, position)


def event_msg(event: Event, header) -> PersonEvent:
    msg = PersonEvent(header=header, kind=event.kind, started=event.started,
                      track_id=int(event.track_id), side=event.side)
    if event.direction is not None:
        msg.direction = Vector3(x=float(event.direction[0]), y=float(event.direction[1]),
                                z=float(event.direction[2]))
        msg.direction_3d = bool(event.direction_3d)
    if event.position is not None:
        msg.valid_3d = True
        msg.position = Point(x=float(event.position[0]), y=float(event.position[1]),
                             z=float(event.position[2]))
    return msg


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
        except ParameterException as exc:
            raise ConfigError(str(exc)) from None
        configs = {group: replace(defaults[group], **{
            item.name: self.get_parameter(item.name).value for item in fields(cls)})
            for group, cls in CONFIGS.items()}
        self._reactor = Reactor(configs["gestures"], configs["target"], configs["follow"])
        self._cmd_pub = self.create_publisher(Twist, "cmd_vel", QOS)
        self._event_pub = self.create_publisher(PersonEvent, "person_events", QOS)
        self.create_subscription(PoseArray, "poses", self._on_poses, QOS)
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

    def _on_poses(self, msg: PoseArray) -> None:
        self._last_poses, self._timed_out = self.get_clock().now().nanoseconds, False
        stamp = stamp_seconds(msg.header)
        people = [person_from_msg(pose, msg.depth) for pose in msg.poses]
        reaction = self._reactor.step(Frame(stamp, int(msg.image_width),
                                            int(msg.image_height), people))
        if self._reactor.follow.enabled:
            self._cmd_pub.publish(twist(reaction.command))
        for event in reaction.events:
            self._event_pub.publish(event_msg(event, msg.header))

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
