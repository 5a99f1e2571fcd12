"""ONNX Runtime: sessions, execution providers, CUDA libraries."""
