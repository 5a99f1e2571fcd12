"""posenet_ros: Google's PoseNet on ONNX Runtime, as a Python library, a CLI and a ROS 2 node.

The engine (everything here except :mod:`posenet_ros.ros`) imports without rclpy.
"""
from posenet_ros.pose import Pose

__all__ = ["Pose", "PoseEstimator", "EstimatorConfig"]


def __getattr__(name: str):
    # Lazy: importing the package for its data or message types must not load ONNX Runtime.
    if name in ("PoseEstimator", "EstimatorConfig"):
        from posenet_ros import estimator
        return getattr(estimator, name)
    raise AttributeError(name)
