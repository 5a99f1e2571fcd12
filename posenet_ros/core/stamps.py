"""The one clock every stage runs on: a message header's stamp in seconds."""
from __future__ import annotations


def stamp_seconds(header) -> float:
    """Return a ROS header's stamp in seconds (rclpy's or rosbags' message).

    The node, the bag tool and the reactions node must compute it alike to give the same
    track ids on the same recording.
    """
    return header.stamp.sec + header.stamp.nanosec * 1e-9
