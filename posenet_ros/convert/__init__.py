"""Model files at setup: fetch the TF.js graphs (PoseNet, MoveNet) and convert them to ONNX."""
