"""The only rclpy code: the nodes (pose, camera, reactions) and their adapters to topics.

They adapt; the work is the pipeline's (``posenet_ros.stages``) and the builders'
(``posenet_ros.outputs``). Nothing outside this folder imports from here.
"""
