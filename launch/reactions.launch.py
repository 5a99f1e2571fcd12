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
from launch.actions import OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from posenet_ros.ros.launch_parts import (declare, fastdds_profile, NODE_ARGUMENTS,
                                          optional_bool, ros_args, share_file)

ARGUMENTS = (
    ("image_topic", "", "existing sensor_msgs/Image colour topic; empty: start camera_node "
     "and use its camera/image"),
    ("camera_info_topic", "camera/camera_info", "CameraInfo of the colour images (needed for "
     "3D)"),
    ("depth_topic", "", "depth image registered to colour (16UC1 mm or 32FC1 m); empty: 2D "
     "only (the robot then turns to people but does not drive)"),
    ("depth_camera_info_topic", "", "CameraInfo of the depth image when its intrinsics differ "
     "from the colour's; empty: pixels scale by the size ratio"),
    ("params_file", None, "posenet_node parameters (default: config/posenet.yaml)"),
    ("reactions_params_file", None, "reactions_node parameters (default: "
     "config/reactions.yaml)"),
    ("enabled", "false", "reactions_node publishes motion on cmd_vel"),
    ("cmd_vel_topic", "cmd_vel", "where the follow command goes"),
) + NODE_ARGUMENTS


def generate_launch_description() -> LaunchDescription:
    arg, declared = declare(ARGUMENTS, {
        "params_file": share_file("config", "posenet.yaml"),
        "reactions_params_file": share_file("config", "reactions.yaml")})
    start_camera = IfCondition(PythonExpression(["'", arg["image_topic"], "' == ''"]))
    image = PythonExpression(["'", arg["image_topic"], "' or 'camera/image'"])
    use_depth = PythonExpression(["'", arg["depth_topic"], "' != ''"])
    depth = PythonExpression(["'", arg["depth_topic"], "' or 'depth/image'"])
    depth_info = PythonExpression(["'", arg["depth_camera_info_topic"],
                                   "' or 'depth/camera_info'"])
    sim_time = ParameterValue(arg["use_sim_time"], value_type=bool)

    camera = Node(
        package="posenet_ros", executable="camera_node", name="camera_node", namespace="camera",
        output="screen", condition=start_camera, arguments=ros_args(arg, "camera_node"),
        parameters=[{"source": ParameterValue(arg["source"], value_type=str),
                     "use_sim_time": sim_time}])

    def posenet(context) -> list[Node]:
        return [Node(
            package="posenet_ros", executable="posenet_node", name="posenet_node",
            output="screen", arguments=ros_args(arg, "posenet_node"),
            parameters=[arg["params_file"], {
                "qos_reliability": "reliable", "use_sim_time": sim_time,
                "use_depth": ParameterValue(use_depth, value_type=bool),
                **optional_bool(context, "autostart")}],
            remappings=[("image", image), ("camera_info", arg["camera_info_topic"]),
                        ("depth/image", depth), ("depth/camera_info", depth_info)])]
    reactions = Node(
        package="posenet_ros", executable="reactions_node", name="reactions_node",
        output="screen", arguments=ros_args(arg, "reactions_node"),
        parameters=[arg["reactions_params_file"], {
            "enabled": ParameterValue(arg["enabled"], value_type=bool),
            "use_sim_time": sim_time}],
        remappings=[("cmd_vel", arg["cmd_vel_topic"])])
    return LaunchDescription([*declared, fastdds_profile(arg), camera,
                              OpaqueFunction(function=posenet), reactions])
