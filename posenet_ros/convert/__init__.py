"""PoseNet weights: fetch the TF.js graph (setup only) and convert it to ONNX."""
