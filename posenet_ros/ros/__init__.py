"""Everything that needs rclpy: the pose node, the camera node, message and marker builders.

The engine (``posenet_ros`` outside this folder) never imports from here.
"""
