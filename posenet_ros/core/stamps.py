"""The one clock every stage runs on: a message header's stamp, in seconds or nanoseconds."""
from __future__ import annotations

NS_PER_S = 1_000_000_000


def seconds(stamp) -> float:
    """Convert a builtin_interfaces/Time (rclpy's or rosbags') to float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_seconds(header) -> float:
    """Return a ROS header's stamp in seconds (rclpy's or rosbags' message).

    The node, the bag tool and the reactions node must compute it alike to give the same
    track ids on the same recording.
    """
    return seconds(header.stamp)


def stamp_ns(header) -> int:
    """Return a ROS header's stamp in integer nanoseconds (exact, for keys and tables)."""
    return int(header.stamp.sec) * NS_PER_S + int(header.stamp.nanosec)


def stamp_text(sec: int, nanosec: int) -> str:
    """Return a stamp as ``sec.nanosec`` with nine decimals, as logs and CSVs write it."""
    return f"{sec}.{nanosec:09d}"
