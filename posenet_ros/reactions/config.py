"""Settings of the reactions behaviour: validated dataclasses, each default written once.

Every field carries its description and range in ``metadata`` so that the ROS node declares
its parameters from these classes (one table, no second copy of defaults or bounds).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
import math
from typing import Any

from posenet_ros.core.config import ConfigError

TARGET_POLICIES = ("nearest", "attention")


def _setting(default: Any, description: str, bounds: tuple | None = None,
             choices: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"description": description, "bounds": bounds,
                                            "choices": choices})


def validate(settings: Any) -> None:
    """Raise ConfigError naming the first field out of its range or choices."""
    for item in fields(settings):
        value = getattr(settings, item.name)
        bounds, choices = item.metadata["bounds"], item.metadata["choices"]
        if bounds is not None and not (
                isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and bounds[0] <= value <= bounds[1]):
            raise ConfigError(f"{item.name} {value!r} is out of range [{bounds[0]}, {bounds[1]}]")
        if choices and value not in choices:
            raise ConfigError(f"{item.name} {value!r} is invalid: use one of {choices}")


@dataclass(frozen=True)
class GestureConfig:
    """What counts as a gesture, and how many frames confirm or end one."""

    min_keypoint_score: float = _setting(0.3, "keypoints below this score are ignored",
                                         (0.0, 1.0))
    raise_margin: float = _setting(
        0.15, "a wrist is raised when above its shoulder by this fraction of the shoulder-hip "
        "length", (0.0, 2.0))
    pointing_straightness: float = _setting(
        0.9, "pointing: shoulder-wrist distance over upper plus lower arm length", (0.5, 1.0))
    pointing_elevation_deg: float = _setting(
        50.0, "pointing: arm at least this far from hanging straight down", (10.0, 90.0))
    on_frames: int = _setting(3, "consecutive frames that confirm a gesture", (1, 30))
    off_frames: int = _setting(3, "consecutive frames without it that end a gesture", (1, 30))

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class TargetConfig:
    """Whom to follow."""

    policy: str = _setting(
        "nearest", "nearest: the nearest person (largest in the image without depth); "
        "attention: only someone who raised a hand", choices=TARGET_POLICIES)
    raise_to_switch: bool = _setting(
        True, "a confirmed raised hand makes that person the target, even while another is")
    switch_frames: int = _setting(
        3, "consecutive frames a claim (a confirmed raised hand, or being the nearest when "
        "there is no target) must hold before that person becomes the target", (1, 30))
    target_timeout: float = _setting(
        1.0, "the target unseen for this long (s of stamps) is lost; until then only a raised "
        "hand can take its place", (0.0, 60.0))

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class FollowConfig:
    """The follow command and its safety limits (SI units: m, s, rad)."""

    enabled: bool = _setting(False, "publish motion commands on cmd_vel; turning it off "
                             "publishes one zero, then nothing (cmd_vel is left to others)")
    keep_distance: float = _setting(1.5, "distance to keep from the target (m)", (0.3, 10.0))
    distance_band: float = _setting(0.3, "no forward motion within this of keep_distance "
                                    "(m, full width)", (0.0, 5.0))
    min_distance: float = _setting(0.8, "target nearer than this: no forward motion (m)",
                                   (0.1, 10.0))
    max_linear: float = _setting(0.4, "forward speed limit (m/s); never backwards",
                                 (0.0, 3.0))
    max_angular: float = _setting(0.8, "turn rate limit (rad/s)", (0.0, 6.0))
    max_linear_accel: float = _setting(0.5, "speed-up limit (m/s^2); stops are immediate",
                                       (0.01, 10.0))
    max_angular_accel: float = _setting(2.0, "turn-rate change limit (rad/s^2); stops are "
                                        "immediate", (0.01, 50.0))
    linear_gain: float = _setting(0.6, "m/s per metre beyond the keep-distance band",
                                  (0.0, 10.0))
    angular_gain: float = _setting(1.5, "rad/s per radian of bearing", (0.0, 20.0))
    bearing_deadband_deg: float = _setting(3.0, "no turning within this bearing (deg)",
                                           (0.0, 45.0))
    camera_hfov_deg: float = _setting(60.0, "horizontal field of view, for bearings without "
                                      "depth (deg)", (10.0, 180.0))
    pose_timeout: float = _setting(0.5, "no PoseArray for this long: stop (s)", (0.05, 10.0))
    max_range: float = _setting(20.0, "a 3D position farther than this is a depth error, "
                                "never followed (m)", (1.0, 1000.0))

    def __post_init__(self) -> None:
        validate(self)
        if self.min_distance > self.keep_distance - self.distance_band / 2:
            raise ConfigError(f"min_distance {self.min_distance} must not exceed keep_distance"
                              f" - distance_band / 2 = "
                              f"{self.keep_distance - self.distance_band / 2}")
        if self.keep_distance + self.distance_band / 2 >= self.max_range:
            raise ConfigError(f"max_range {self.max_range} must exceed keep_distance + "
                              f"distance_band / 2 = "
                              f"{self.keep_distance + self.distance_band / 2}")
