"""MoveNet around the converted graph, as pose-detection 2.1.3 does it in JavaScript.

The graph (converted whole by :mod:`posenet_ros.convert.graph_convert`) decodes its own heads;
what is left is pose-detection's code around it: the single-pose crop region kept across
frames (:mod:`crop_region`), the network input (:mod:`image_ops`: ``cropAndResize`` or
resize-and-pad, then a truncating int32 cast), and the mapping of the graph's output to image
pixels with optional keypoint smoothing (:mod:`single_pose`, :mod:`multi_pose`).
"""

#: The names ``model`` takes for this family.
NAMES = ("movenet-lightning", "movenet-thunder", "movenet-multipose")
