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
from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
import launch.logging
from launch.substitutions import (EnvironmentVariable, LaunchConfiguration,
                                  PathJoinSubstitution, PythonExpression)
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

# (name, default, description); a default of None is computed below.
ARGUMENTS = (
    ("image_topic", "", "existing sensor_msgs/Image topic to estimate poses on; empty: start "
     "camera_node and use its camera/image"),
    ("camera_info_topic", "camera/camera_info", "CameraInfo topic matching the images (places "
     "markers on camera rays); set it with image_topic"),
    ("image_transport", "raw", "raw, or compressed: subscribe <image topic>/compressed"),
    ("autostart", "", "posenet_node: true: configure and activate at start-up; false: wait "
     "for a lifecycle manager; empty: as params_file says"),
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
                "rviz_config": PathJoinSubstitution([share, "config", "posenet.rviz"]),
                "fastdds_profile": EnvironmentVariable(
                    "FASTDDS_DEFAULT_PROFILES_FILE", default_value=PathJoinSubstitution(
                        [share, "config", "fastdds_large_frames.xml"]))}
    arg = {name: LaunchConfiguration(name) for name, _, _ in ARGUMENTS}
    declared = [DeclareLaunchArgument(name, default_value=defaults.get(name, default),
                                      description=description)
                for name, default, description in ARGUMENTS]

    start_camera = IfCondition(PythonExpression(["'", arg["image_topic"], "' == ''"]))
    image = PythonExpression(["'", arg["image_topic"], "' or 'camera/image'"])
    image_compressed = PythonExpression(
        ["('", arg["image_topic"], "' or 'camera/image') + '/compressed'"])
    reliability = PythonExpression([
        "'", arg["qos_reliability"], "' or ('reliable' if '", arg["image_topic"],
        "' == '' else 'best_effort')"])
    sim_time = ParameterValue(arg["use_sim_time"], value_type=bool)

    def ros_args(node: str) -> list:
        enclave = PythonExpression(["('", arg["enclaves"], "'.rstrip('/') + '/", node,
                                    "') if '", arg["enclaves"], "' else '/'"])
        return ["--ros-args", "--log-level", arg["log_level"], "--enclave", enclave]

    camera = Node(
        package="posenet_ros", executable="camera_node", name="camera_node", namespace="camera",
        output="screen", condition=start_camera, arguments=ros_args("camera_node"),
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
            *ros_args("camera_optical_tf")])

    def posenet(context) -> list[Node]:
        return [Node(
            package="posenet_ros", executable="posenet_node", name="posenet_node",
            output="screen", arguments=ros_args("posenet_node"),
            parameters=[arg["params_file"], {
                "image_transport": arg["image_transport"], "qos_reliability": reliability,
                "use_sim_time": sim_time, **optional_bool(context, "autostart")}],
            remappings=[("image", image), ("image/compressed", image_compressed),
                        ("camera_info", arg["camera_info_topic"])])]
    rviz = Node(
        package="rviz2", executable="rviz2", name="rviz2", output="log",
        condition=IfCondition(arg["rviz"]),
        arguments=["-d", arg["rviz_config"], "-f", arg["fixed_frame"], *ros_args("viewer")],
        parameters=[{"use_sim_time": sim_time}])
    profile = SetEnvironmentVariable(
        "FASTDDS_DEFAULT_PROFILES_FILE", arg["fastdds_profile"],
        condition=IfCondition(PythonExpression(["'", arg["fastdds_profile"], "' != ''"])))
    return LaunchDescription([*declared, profile, camera,
                              if_installed(optical_tf, "tf2_ros", "publish_tf:=false"),
                              OpaqueFunction(function=posenet),
                              if_installed(rviz, "rviz2", "rviz:=false")])


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
            launch.logging.get_logger("camera.launch.py").warning(
                f"{package} is not installed: starting the others without it (install "
                f"ros-$ROS_DISTRO-{package.replace('_', '-')}, or pass {off})")
            return []
        return [node]
    return OpaqueFunction(function=check)
