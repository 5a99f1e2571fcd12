"""TF.js PoseNet 2.2.2 run in Node: the reference posenet_ros is tested and benchmarked against."""
