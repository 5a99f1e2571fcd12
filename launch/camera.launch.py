"""People on a camera: camera_node (or an existing image topic) -> posenet_node [-> RViz2].

    ros2 launch posenet_ros camera.launch.py                        # vtest.avi, looped
    ros2 launch posenet_ros camera.launch.py source:=0 rviz:=true   # /dev/video0
    ros2 launch posenet_ros camera.launch.py image_topic:=/cam/image camera_info_topic:=/cam/info
    ros2 launch posenet_ros camera.launch.py autostart:=false       # for a lifecycle manager

``ros2 launch posenet_ros camera.launch.py --show-args`` lists every argument. Only APIs that
exist in Humble are used (PythonExpression conditions, ParameterValue, FindPackageShare,
OpaqueFunction, SetEnvironmentVariable).

Frames are camera-sized, so the nodes started here get the package's Fast DDS profile
(``fastdds_profile``; without it Fast DDS loses best-effort samples over 512 KB between
processes and repairs reliable ones slowly). The optional helpers (tf2_ros's static
transform publisher, RViz2) are skipped with a warning when their package is not installed.
"""
from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from posenet_ros.ros.launch_parts import (declare, fastdds_profile, if_installed, NODE_ARGUMENTS,
                                          optional_bool, ros_args, share_file)

# (name, default, description); a default of None is computed below.
ARGUMENTS = (
    ("image_topic", "", "existing sensor_msgs/Image topic to estimate poses on; empty: start "
     "camera_node and use its camera/image"),
    ("camera_info_topic", "camera/camera_info", "CameraInfo topic matching the images (places "
     "markers on camera rays); set it with image_topic"),
    ("image_transport", "raw", "raw, or compressed: subscribe <image topic>/compressed"),
    ("qos_reliability", "", "posenet_node input QoS; empty: reliable with camera_node (its "
     "publisher is reliable, and large frames survive), best_effort on an existing topic "
     "(matches any publisher)"),
    ("rate", "0.0", "camera_node: frames/s; 0: the video's own rate"),
    ("loop", "true", "camera_node: restart a video file at its end"),
    ("frame_id", "camera_optical_frame", "camera_node: frame_id of images and CameraInfo"),
    ("calibration_file", "", "camera_node: camera_calibration_parsers YAML; empty: a pinhole "
     "guess"),
    ("params_file", None, "posenet_node parameters (default: this package's "
     "config/posenet.yaml)"),
    ("rviz", "false", "start RViz2 with the annotated image and the markers"),
    ("rviz_config", None, "RViz2 configuration (default: this package's config/posenet.rviz)"),
    ("publish_tf", "true", "with camera_node: publish the static transform camera_link -> "
     "frame_id (tf2_ros); false when a URDF or driver already does"),
    ("fixed_frame", "camera_link", "RViz2 fixed frame"),
) + NODE_ARGUMENTS


def generate_launch_description() -> LaunchDescription:
    arg, declared = declare(ARGUMENTS, {
        "params_file": share_file("config", "posenet.yaml"),
        "rviz_config": share_file("config", "posenet.rviz")})

    start_camera = IfCondition(PythonExpression(["'", arg["image_topic"], "' == ''"]))
    image = PythonExpression(["'", arg["image_topic"], "' or 'camera/image'"])
    image_compressed = PythonExpression(
        ["('", arg["image_topic"], "' or 'camera/image') + '/compressed'"])
    reliability = PythonExpression([
        "'", arg["qos_reliability"], "' or ('reliable' if '", arg["image_topic"],
        "' == '' else 'best_effort')"])
    sim_time = ParameterValue(arg["use_sim_time"], value_type=bool)

    camera = Node(
        package="posenet_ros", executable="camera_node", name="camera_node", namespace="camera",
        output="screen", condition=start_camera, arguments=ros_args(arg, "camera_node"),
        parameters=[{
            "source": ParameterValue(arg["source"], value_type=str),
            "rate": ParameterValue(arg["rate"], value_type=float),
            "loop": ParameterValue(arg["loop"], value_type=bool),
            "frame_id": arg["frame_id"],
            "calibration_file": arg["calibration_file"],
            "use_sim_time": sim_time,
        }])
    # camera_link (x forward, z up) -> optical frame (x right, y down, z forward), as
    # camera drivers publish it, so RViz can show the markers upright.
    optical_tf = Node(
        package="tf2_ros", executable="static_transform_publisher", name="camera_optical_tf",
        condition=IfCondition(PythonExpression([
            "'", arg["image_topic"], "' == '' and '", arg["publish_tf"], "'.lower() == 'true'"])),
        arguments=[
            "--roll", "-1.5707963", "--pitch", "0", "--yaw", "-1.5707963",
            "--frame-id", "camera_link", "--child-frame-id", arg["frame_id"],
            *ros_args(arg, "camera_optical_tf")])

    def posenet(context) -> list[Node]:
        return [Node(
            package="posenet_ros", executable="posenet_node", name="posenet_node",
            output="screen", arguments=ros_args(arg, "posenet_node"),
            parameters=[arg["params_file"], {
                "image_transport": arg["image_transport"], "qos_reliability": reliability,
                "use_sim_time": sim_time, **optional_bool(context, "autostart")}],
            remappings=[("image", image), ("image/compressed", image_compressed),
                        ("camera_info", arg["camera_info_topic"])])]
    rviz = Node(
        package="rviz2", executable="rviz2", name="rviz2", output="log",
        condition=IfCondition(arg["rviz"]),
        arguments=["-d", arg["rviz_config"], "-f", arg["fixed_frame"], *ros_args(arg, "viewer")],
        parameters=[{"use_sim_time": sim_time}])
    return LaunchDescription([*declared, fastdds_profile(arg), camera,
                              if_installed(optical_tf, "tf2_ros", "publish_tf:=false"),
                              OpaqueFunction(function=posenet),
                              if_installed(rviz, "rviz2", "rviz:=false")])
