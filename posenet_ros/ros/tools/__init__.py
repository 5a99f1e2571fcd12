"""Developer tools that drive the installed node over DDS: the demo and the overhead benchmark.

Not part of the runtime: no node or library module imports this package. They live under
``posenet_ros/ros/`` because they need rclpy (everything outside ``ros/`` imports without it).
"""
