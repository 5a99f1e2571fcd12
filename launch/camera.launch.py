"""People on a camera: camera_node (or an existing image topic) -> posenet_node [-> RViz2].

    ros2 launch posenet_ros camera.launch.py                        # vtest.avi, looped
    ros2 launch posenet_ros camera.launch.py source:=0 rviz:=true   # /dev/video0
    ros2 launch posenet_ros camera.launch.py image_topic:=/cam/image camera_info_topic:=/cam/info

``ros2 launch posenet_ros camera.launch.py --show-args`` lists every argument. Only APIs that
exist in Humble are used (PythonExpression conditions, ParameterValue, FindPackageShare).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

# (name, default, description); a default of None is computed below.
ARGUMENTS = (
    ("image_topic", "", "existing sensor_msgs/Image topic to estimate poses on; empty: start "
     "camera_node and use its camera/image_raw"),
    ("camera_info_topic", "camera/camera_info", "CameraInfo topic matching the images (places "
     "markers on camera rays); set it with image_topic"),
    ("image_transport", "raw", "raw, or compressed: subscribe <image topic>/compressed"),
    ("qos_reliability", "", "posenet_node input QoS; empty: reliable with camera_node (its "
     "publisher is reliable, and large frames survive), best_effort on an existing topic "
     "(matches any publisher)"),
    ("source", "", "camera_node: device index (0), /dev/videoN or a video file; empty: the "
     "sample vtest.avi"),
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
    ("use_sim_time", "false", "use /clock (bag replay) for all nodes"),
    ("log_level", "info", "log level of the nodes: debug, info, warn, error"),
)


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare("posenet_ros")
    defaults = {"params_file": PathJoinSubstitution([share, "config", "posenet.yaml"]),
                "rviz_config": PathJoinSubstitution([share, "config", "posenet.rviz"])}
    arg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    declared = [DeclareLaunchArgument(name, default_value=defaults.get(name, default),
                                      description=description)
                for name, default, description in ARGUMENTS]

    start_camera = IfCondition(PythonExpression(["'", arg["image_topic"], "' == ''"]))
    image = PythonExpression(["'", arg["image_topic"], "' or 'camera/image_raw'"])
    image_compressed = PythonExpression(
        ["('", arg["image_topic"], "' or 'camera/image_raw') + '/compressed'"])
    reliability = PythonExpression([
        "'", arg["qos_reliability"], "' or ('reliable' if '", arg["image_topic"],
        "' == '' else 'best_effort')"])
    sim_time = ParameterValue(arg["use_sim_time"], value_type=bool)
    ros_args = ["--ros-args", "--log-level", arg["log_level"]]

    camera = Node(
        package="posenet_ros", executable="camera_node", name="camera_node", namespace="camera",
        output="screen", condition=start_camera, arguments=ros_args,
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
            "--frame-id", "camera_link", "--child-frame-id", arg["frame_id"]])
    posenet = Node(
        package="posenet_ros", executable="posenet_node", name="posenet_node", output="screen",
        arguments=ros_args,
        parameters=[arg["params_file"], {
            "image_transport": arg["image_transport"], "qos_reliability": reliability,
            "use_sim_time": sim_time}],
        remappings=[("image", image), ("image/compressed", image_compressed),
                    ("camera_info", arg["camera_info_topic"])])
    rviz = Node(
        package="rviz2", executable="rviz2", name="rviz2", output="log",
        condition=IfCondition(arg["rviz"]),
        arguments=["-d", arg["rviz_config"], "-f", arg["fixed_frame"]],
        parameters=[{"use_sim_time": sim_time}])
    return LaunchDescription([*declared, camera, optical_tf, posenet, rviz])
