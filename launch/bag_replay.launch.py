"""Replay a recorded bag through posenet_node on the bag's clock.

    ros2 launch posenet_ros bag_replay.launch.py bag:=/path/to/bag topic:=/camera/image_raw
    ros2 launch posenet_ros bag_replay.launch.py bag:=/path/to/bag \
        topic:=/camera/image_raw image_transport:=compressed      # .../image_raw/compressed

``ros2 bag play --clock`` publishes the recording's time on /clock and the node runs with
``use_sim_time``, so its outputs carry the recorded stamps (the PoseArray header is the image's)
and its diagnostics and latencies are measured on the bag's clock. The node keeps only the
newest frame: at a ``rate`` faster than it can process, frames are dropped, not queued (its
diagnostics count them); use ``posenet-ros bag`` for every-frame offline analysis.

Arguments: bag (required), topic (image topic; default /camera/image_raw), camera_info_topic
(default /camera/camera_info), image_transport (raw | compressed: then the node reads
``<topic>/compressed``), rate (playback speed factor, default 1.0), qos_reliability (of the
image subscription, default reliable: ``ros2 bag play`` offers reliable, and megabyte images
over best effort lose fragments), params_file (default the
package's config/posenet.yaml), namespace (of the node, default empty), start_delay (seconds
from the node's start to the playback's, default 3.0: the first frames are not lost while the
model loads), fastdds_profile (Fast DDS XML profile of the processes started here; default
FASTDDS_DEFAULT_PROFILES_FILE if set, else the package's config/fastdds_large_frames.xml;
empty: Fast DDS defaults).

The launch ends when the playback does (``ros2 bag play`` exits at the bag's end), so a
replay in a script or CI terminates by itself.
"""
from launch import LaunchDescription
from launch.actions import (EmitEvent, ExecuteProcess, LogInfo, RegisterEventHandler,
                            TimerAction)
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch_ros.actions import Node
from posenet_ros.ros.launch_parts import declare, fastdds_profile, share_file

ARGUMENTS = (
    ("bag", None, "rosbag2 to play (folder, .mcap or .db3)"),
    ("topic", "/camera/image_raw", "image topic in the bag (raw Image, or the base name of a "
                                   "CompressedImage topic with image_transport:=compressed)"),
    ("camera_info_topic", "/camera/camera_info", "CameraInfo topic in the bag"),
    ("image_transport", "raw", "raw: sensor_msgs/Image on topic; compressed: "
                               "sensor_msgs/CompressedImage on <topic>/compressed"),
    ("rate", "1.0", "playback speed factor (ros2 bag play --rate)"),
    ("qos_reliability", "reliable", "image subscription QoS: reliable (no frame lost in "
                                    "transport; large images over best effort often are) "
                                    "or best_effort"),
    ("params_file", None, "posenet_node parameters (default: this package's "
     "config/posenet.yaml)"),
    ("namespace", "", "namespace of posenet_node (its outputs: <namespace>/poses, ...)"),
    ("start_delay", "3.0", "seconds between starting the node and the playback, so the "
                           "model is loaded before the first frame"),
    ("fastdds_profile", None, "Fast DDS XML profile of the player and the node (camera-sized "
     "frames between processes); empty: Fast DDS defaults"),
)


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments; start ``ros2 bag play --clock`` and posenet_node on sim time."""
    arg, declared = declare(ARGUMENTS, {"params_file": share_file("config", "posenet.yaml")})
    play = ExecuteProcess(
        cmd=["ros2", "bag", "play", arg["bag"], "--clock", "--rate", arg["rate"]],
        name="bag_play", output="screen")
    node = Node(
        package="posenet_ros", executable="posenet_node", name="posenet_node",
        namespace=arg["namespace"], output="screen",
        parameters=[arg["params_file"], {"use_sim_time": True,
                                         "image_transport": arg["image_transport"],
                                         "qos_reliability": arg["qos_reliability"]}],
        remappings=[("image", arg["topic"]),
                    ("image/compressed", [arg["topic"], "/compressed"]),
                    ("camera_info", arg["camera_info_topic"])])
    end_with_bag = RegisterEventHandler(OnProcessExit(target_action=play, on_exit=[
        LogInfo(msg="the bag has been played: shutting down"),
        EmitEvent(event=Shutdown(reason="the bag ended"))]))
    return LaunchDescription([*declared, fastdds_profile(arg), node, end_with_bag,
                              TimerAction(period=arg["start_delay"], actions=[play])])
