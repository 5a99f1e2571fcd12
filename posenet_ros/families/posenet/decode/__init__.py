"""Model outputs -> poses in network-input pixels, as TF.js PoseNet 2.2.2 decodes them.

All functions take one image's outputs, channel-first as the ONNX model returns them:
``heatmap`` [17, H, W] (sigmoid scores), ``offsets`` [34, H, W], displacements [32, H, W].
Both return :class:`~posenet_ros.core.pose.Pose` in network-input pixels: (x, y) in float64, like
the JavaScript numbers tfjs computes with.
"""
from posenet_ros.families.posenet.decode.multi import decode_multiple_poses
from posenet_ros.families.posenet.decode.single import decode_single_pose

__all__ = ["decode_single_pose", "decode_multiple_poses"]
