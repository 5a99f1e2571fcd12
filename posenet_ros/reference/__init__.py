"""TF.js PoseNet 2.2.2 and pose-detection 2.1.3 in Node: references for parity tests and bench."""
