"""Offline analysis of recorded camera data: rosbag2 in, poses out, without a ROS install.

Built on ``rosbags`` (pure Python rosbag2 reader/writer); nothing here imports rclpy, so
``posenet-ros bag`` runs on a laptop with no ROS, as fast as the machine allows.
"""
