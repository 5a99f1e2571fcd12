r"""A robot that follows people: camera_node -> posenet_node (+ depth) -> reactions_node.

    ros2 launch posenet_ros reactions.launch.py                       # vtest.avi, cmd_vel off
    ros2 launch posenet_ros reactions.launch.py source:=0 enabled:=true
    ros2 launch posenet_ros reactions.launch.py image_topic:=/cam/color/image_raw \\
        camera_info_topic:=/cam/color/camera_info \\
        depth_topic:=/cam/aligned_depth_to_color/image_raw enabled:=true

``--show-args`` lists every argument. The robot moves only with ``enabled:=true`` (or
``ros2 param set /reactions_node enabled true``); ``cmd_vel`` is remapped by ``cmd_vel_topic``.
Only APIs that exist in Humble are used.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import (
    EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution, PythonExpression)
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = (
    ("image_topic", "", "existing sensor_msgs/Image colour topic; empty: start camera_node "
     "and use its camera/image"),
    ("camera_info_topic", "camera/camera_info", "CameraInfo of the colour images (needed for "
     "3D)"),
    ("depth_topic", "", "depth image registered to colour (16UC1 mm or 32FC1 m); empty: 2D "
     "only (the robot then turns to people but does not drive)"),
    ("depth_camera_info_topic", "", "CameraInfo of the depth image when its intrinsics differ "
     "from the colour's; empty: pixels scale by the size ratio"),
    ("source", "", "camera_node: device index (0), /dev/videoN or a video file; empty: the "
     "sample vtest.avi"),
    ("params_file", None, "posenet_node parameters (default: config/posenet.yaml)"),
    ("autostart", "", "posenet_node: true: configure and activate at start-up; false: wait "
     "for a lifecycle manager; empty: as params_file says"),
    ("reactions_params_file", None, "reactions_node parameters (default: "
     "config/reactions.yaml)"),
    ("enabled", "false", "reactions_node publishes motion on cmd_vel"),
    ("cmd_vel_topic", "cmd_vel", "where the follow command goes"),
    ("use_sim_time", "false", "use /clock (bag replay) for all nodes"),
    ("fastdds_profile", None, "Fast DDS XML profile of the nodes started here (default: "
     "FASTDDS_DEFAULT_PROFILES_FILE if set, else this package's "
     "config/fastdds_large_frames.xml, which delivers camera-sized frames between processes); "
     "empty: Fast DDS defaults"),
    ("log_level", "info", "log level of the nodes: debug, info, warn, error"),
    ("enclaves", "", "SROS2: each node runs in enclave <this>/<node name> (/posenet_ros for "
     "config/sros2_policy.xml, docs/security.md); empty: the default enclave /"),
)


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("posenet_ros")
    defaults = {"params_file": PathJoinSubstitution([share, "config", "posenet.yaml"]),
                "reactions_params_file": PathJoinSubstitution([share, "config",
                                                               "reactions.yaml"]),
                "fastdds_profile": EnvironmentVariable(
                    "FASTDDS_DEFAULT_PROFILES_FILE", default_value=PathJoinSubstitution(
                        [share, "config", "fastdds_large_frames.xml"]))}
    arg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    declared = [DeclareLaunchArgument(name, default_value=defaults.get(name, default),
                                      description=description)
                for name, default, description in ARGUMENTS]
    start_camera = IfCondition(PythonExpression(["'", arg["image_topic"], "' == ''"]))
    image = PythonExpression(["'", arg["image_topic"], "' or 'camera/image'"])
    use_depth = PythonExpression(["'", arg["depth_topic"], "' != ''"])
    depth = PythonExpression(["'", arg["depth_topic"], "' or 'depth/image'"])
    depth_info = PythonExpression(["'", arg["depth_camera_info_topic"],
                                   "' or 'depth/camera_info'"])
    sim_time = ParameterValue(arg["use_sim_time"], value_type=bool)

    def ros_args(node: str) -> list:
        enclave = PythonExpression(["('", arg["enclaves"], "'.rstrip('/') + '/", node,
                                    "') if '", arg["enclaves"], "' else '/'"])
        return ["--ros-args", "--log-level", arg["log_level"], "--enclave", enclave]

    camera = Node(
        package="posenet_ros", executable="camera_node", name="camera_node", namespace="camera",
        output="screen", condition=start_camera, arguments=ros_args("camera_node"),
        parameters=[{"source": ParameterValue(arg["source"], value_type=str),
                     "use_sim_time": sim_time}])

    def posenet(context) -> list[Node]:
        return [Node(
            package="posenet_ros", executable="posenet_node", name="posenet_node",
            output="screen", arguments=ros_args("posenet_node"),
            parameters=[arg["params_file"], {
                "qos_reliability": "reliable", "use_sim_time": sim_time,
                "use_depth": ParameterValue(use_depth, value_type=bool),
                **optional_bool(context, "autostart")}],
            remappings=[("image", image), ("camera_info", arg["camera_info_topic"]),
                        ("depth/image", depth), ("depth/camera_info", depth_info)])]
    reactions = Node(
        package="posenet_ros", executable="reactions_node", name="reactions_node",
        output="screen", arguments=ros_args("reactions_node"),
        parameters=[arg["reactions_params_file"], {
            "enabled": ParameterValue(arg["enabled"], value_type=bool),
            "use_sim_time": sim_time}],
        remappings=[("cmd_vel", arg["cmd_vel_topic"])])
    profile = SetEnvironmentVariable(
        "FASTDDS_DEFAULT_PROFILES_FILE", arg["fastdds_profile"],
        condition=IfCondition(PythonExpression(["'", arg["fastdds_profile"], "' != ''"])))
    return LaunchDescription([*declared, profile, camera, OpaqueFunction(function=posenet),
                              reactions])


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
