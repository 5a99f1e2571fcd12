"""posenet_ros: Google's PoseNet on ONNX Runtime, as a Python library, a CLI and a ROS 2 node.

Import from the submodules (``posenet_ros.estimator``, ``posenet_ros.core.pose``, ...). This file
stays empty of code: in a colcon install rosidl generates the package's ``__init__.py`` and
the hand-written modules merge beside ``posenet_ros.msg``.
"""
