"""``posenet-ros bench``: per-stage timings against TF.js PoseNet 2.2.2 on the same frames."""
