"""The follow command: turn towards the target and keep a distance, within safe limits.

Safety rules, in order (the first that applies gives the command):

- disabled, poses timed out, someone shows ``hands_up``, no target, or the target unseen
  or at an impossible 3D position (:func:`position_problem`): zero, at once (stops are
  never ramped: a stop must take effect on the frame that calls for it);
- target nearer than ``min_distance``: no forward motion (turning to face it still allowed);
- no depth (no 3D position): turn only, never drive towards a distance we cannot measure;
- otherwise forward speed ``linear_gain`` x the distance beyond the keep-distance band,
  zero inside the band, never backwards (the camera cannot see behind the robot).

Turning follows the bearing: ``atan2(-x, z)`` of the 3D position (optical frame x right,
z forward; ROS ``angular.z`` > 0 turns left), or from the image column and
``camera_hfov_deg`` without depth. Speeds are clipped to ``max_linear``/``max_angular``,
and increases in speed to ``max_*_accel`` per second (the caller passes the shorter of the
stamps' and the receiving clock's interval, so stamps that run ahead cannot speed it up);
decreases are immediate. A command that is not finite becomes a stop.
"""
from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np
from posenet_ros.reactions.config import FollowConfig
from posenet_ros.reactions.person import Person


@dataclass(frozen=True)
class Command:
    """A velocity command (m/s forward, rad/s counter-clockwise) and why it is what it is."""

    linear: float
    angular: float
    reason: str


def stop(reason: str) -> Command:
    return Command(0.0, 0.0, reason)


def position_problem(position: np.ndarray | None, config: FollowConfig) -> str | None:
    """Why a 3D position (optical frame, m) cannot be a person's, or None when it can.

    Not finite, at or behind the camera plane (z <= 0), or beyond ``max_range``: a depth
    error or a forged message, which must never steer the robot.
    """
    if position is None:
        return None
    text = "(" + ", ".join(f"{float(v):.3g}" for v in position[:3]) + ") m"
    if not np.isfinite(position).all():
        return f"position {text} is not finite"
    if not position[2] > 0:
        return f"position {text} is behind the camera (z <= 0)"
    distance = float(np.linalg.norm(position))
    if distance > config.max_range:
        return f"position {text} is {distance:.3g} m away, beyond max_range {config.max_range}"
    return None


def bearing(person: Person, image_width: int, config: FollowConfig, min_score: float
            ) -> float | None:
    """Angle to the person (rad, positive to the left), or None without usable keypoints."""
    if person.position is not None:
        return math.atan2(-float(person.position[0]), float(person.position[2]))
    seen = person.keypoints[person.scores >= min_score, 0]
    if not len(seen) or image_width <= 0:
        return None
    offset = (float(np.mean(seen)) - (image_width - 1) / 2.0) / (image_width / 2.0)
    return -math.atan(offset * math.tan(math.radians(config.camera_hfov_deg) / 2.0))


def desired(person: Person, image_width: int, config: FollowConfig, min_score: float
            ) -> Command:
    """Return the command for following ``person``: speed limits, no acceleration limits."""
    angle = bearing(person, image_width, config, min_score)
    if angle is None:
        return stop("target has no usable keypoints")
    angular = 0.0
    if abs(angle) > math.radians(config.bearing_deadband_deg):
        angular = float(np.clip(config.angular_gain * angle, -config.max_angular,
                                config.max_angular))
    if person.position is None:
        return Command(0.0, angular, "no depth: turning only")
    distance = math.hypot(float(person.position[0]), float(person.position[2]))
    if distance < config.min_distance:
        return Command(0.0, angular, "too close")
    beyond = distance - (config.keep_distance + config.distance_band / 2.0)
    if beyond <= 0:
        return Command(0.0, angular, "at keep distance")
    return Command(min(config.linear_gain * beyond, config.max_linear), angular, "following")


def limit(previous: Command, wanted: Command, dt: float, config: FollowConfig) -> Command:
    """Apply the acceleration limits over ``dt`` seconds; slowing down is not limited."""
    return Command(_ramp(previous.linear, wanted.linear, config.max_linear_accel * dt),
                   _ramp(previous.angular, wanted.angular, config.max_angular_accel * dt),
                   wanted.reason)


def finite(command: Command) -> Command:
    """Return ``command``, or a stop when a speed is not finite or drives backwards."""
    if math.isfinite(command.linear) and math.isfinite(command.angular) \
            and command.linear >= 0.0:
        return command
    return stop(f"invalid command ({command.linear}, {command.angular})")


def _ramp(previous: float, wanted: float, step: float) -> float:
    base = previous if previous * wanted > 0 else 0.0
    if abs(wanted) <= abs(base):
        return wanted
    return base + math.copysign(min(abs(wanted) - abs(base), step), wanted)
