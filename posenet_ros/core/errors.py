"""Errors the engine raises for bad input, importable without loading ONNX Runtime."""


class ImageError(ValueError):
    """An image cannot be used as it is (unreadable, empty, wrong shape or type); says why."""
