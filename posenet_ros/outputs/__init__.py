"""Every output message, from pipeline frames, ROS-free: each builder takes the caller's classes.

The node passes rclpy's generated classes, the bag tools their rosbags typestore's, so a bag
written offline holds exactly what the live node publishes. Only :mod:`posenet_ros.ros`
imports rclpy; these modules take the classes as arguments.
"""
