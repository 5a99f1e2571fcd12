"""What the package's launch files share: common arguments and the helpers that read them.

Imported only by ``launch/*.launch.py``: launch and launch_ros come with every ROS install
(package.xml declares them), not with the development venv's wheels. Only APIs that exist in
Humble are used.
"""
from __future__ import annotations

from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
import launch.logging
from launch.substitutions import (EnvironmentVariable, LaunchConfiguration,
                                  PathJoinSubstitution, PythonExpression)
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PROFILE_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"

# (name, default, description) of the arguments every launch file that starts nodes has; a
# default of None is filled in by ``declare``.
NODE_ARGUMENTS = (
    ("source", "", "camera_node: device index (0), /dev/videoN or a video file; empty: the "
     "sample vtest.avi"),
    ("autostart", "", "posenet_node: true: configure and activate at start-up; false: wait "
     "for a lifecycle manager; empty: as params_file says"),
    ("use_sim_time", "false", "use /clock (bag replay) for all nodes"),
    ("fastdds_profile", None, "Fast DDS XML profile of the nodes started here (default: "
     f"{PROFILE_VARIABLE} if set, else this package's config/fastdds_large_frames.xml, which "
     "delivers camera-sized frames between processes); empty: Fast DDS defaults"),
    ("log_level", "info", "log level of the nodes: debug, info, warn, error"),
    ("enclaves", "", "SROS2: each node runs in enclave <this>/<node name> (/posenet_ros for "
     "config/sros2_policy.xml, docs/security.md); empty: the default enclave /"),
)


def share_file(*parts: str) -> PathJoinSubstitution:
    """Return the path of a file in this package's share folder."""
    return PathJoinSubstitution([FindPackageShare("posenet_ros"), *parts])


def declare(arguments, defaults: dict) -> tuple[dict, list]:
    """Return ({name: LaunchConfiguration}, [DeclareLaunchArgument]) for ``arguments``.

    ``defaults`` fills the defaults given as None (substitutions that need the share folder);
    the Fast DDS profile's is set here.
    """
    defaults = {"fastdds_profile": EnvironmentVariable(
        PROFILE_VARIABLE, default_value=share_file("config", "fastdds_large_frames.xml")),
        **defaults}
    arg = {name: LaunchConfiguration(name) for name, _, _ in arguments}
    declared = [DeclareLaunchArgument(name, default_value=defaults.get(name, default),
                                      description=description)
                for name, default, description in arguments]
    return arg, declared


def ros_args(arg: dict, node: str) -> list:
    """``--ros-args`` of ``node``: the log level and its SROS2 enclave."""
    enclave = PythonExpression(["('", arg["enclaves"], "'.rstrip('/') + '/", node,
                                "') if '", arg["enclaves"], "' else '/'"])
    return ["--ros-args", "--log-level", arg["log_level"], "--enclave", enclave]


def fastdds_profile(arg: dict) -> SetEnvironmentVariable:
    """Give the nodes started after it the ``fastdds_profile`` argument's profile (if any)."""
    return SetEnvironmentVariable(
        PROFILE_VARIABLE, arg["fastdds_profile"],
        condition=IfCondition(PythonExpression(["'", arg["fastdds_profile"], "' != ''"])))


def optional_bool(context, name: str) -> dict:
    """``{name: value}`` when the launch argument is true or false; ``{}`` when empty.

    Empty leaves the parameter to params_file (and the node's own default), so the launch
    file holds no second default that would silently override the file's.
    """
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if not value:
        return {}
    if value not in ("true", "false"):
        raise ValueError(f"launch argument {name}:={value}: expected true or false "
                         f"(empty: as params_file says)")
    return {name: value == "true"}


def if_installed(node: Node, package: str, off: str) -> OpaqueFunction:
    """Start ``node`` (when its condition holds) only if ``package`` is installed.

    A Node of a missing package aborts the whole launch and leaves the nodes already started
    orphaned; an optional helper should not.
    """
    def check(context):
        if node.condition is not None and not node.condition.evaluate(context):
            return []
        try:
            get_package_share_directory(package)
        except PackageNotFoundError:
            launch.logging.get_logger("posenet_ros.launch").warning(
                f"{package} is not installed: starting the others without it (install "
                f"ros-$ROS_DISTRO-{package.replace('_', '-')}, or pass {off})")
            return []
        return [node]
    return OpaqueFunction(function=check)
