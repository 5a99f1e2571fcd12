"""Model families behind one seam (:mod:`posenet_ros.families.base`).

``EstimatorConfig.model`` picks the family: a family's name (``posenet``, ``movenet-thunder``,
see :data:`posenet_ros.core.config.MODEL_NAMES`) or None for the default PoseNet, or a model file.
A file is routed by what it holds, not by its name: a converted MoveNet ONNX graph takes
TF's int32 NHWC image, a MoveNet ``model.json`` has an int32 Placeholder (PoseNet's graphs
and converted models take float); everything else is PoseNet's. A new family adds its names
to :data:`FAMILIES` and a :class:`~posenet_ros.families.base.PoseModel`.
"""
from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path

from posenet_ros.core.config import EstimatorConfig, MOVENET_MODELS, POSENET
from posenet_ros.families.base import PoseModel

MOVENET = "movenet"


def _posenet(config: EstimatorConfig) -> PoseModel:
    from posenet_ros.families.posenet.family import PoseNet
    return PoseNet(config)


def _movenet(config: EstimatorConfig) -> PoseModel:
    from posenet_ros.families.movenet.family import MoveNet
    return MoveNet(config)


#: Model name -> loader. Names not listed are model file paths (routed by :func:`family_of`).
FAMILIES: dict[str, Callable[[EstimatorConfig], PoseModel]] = {
    POSENET: _posenet, **{name: _movenet for name in MOVENET_MODELS}}
_FILE_LOADERS = {POSENET: _posenet, MOVENET: _movenet}


def load_model(config: EstimatorConfig) -> PoseModel:
    """Load the model ``config.model`` names (None: PoseNet)."""
    name = config.model or POSENET
    if name in FAMILIES:
        return FAMILIES[name](config)
    return _FILE_LOADERS[family_of(name)](config)


def calibration_feeds(fp32_path: str | Path, frames: list, period_s: float,
                      resolution: int) -> list:
    """Network inputs for int8 calibration, prepared by the model's own family.

    MoveNet: the frames one stream ``period_s`` apart at its own input; PoseNet: ``resolution``.
    """
    if family_of(fp32_path) == MOVENET:
        from posenet_ros.families.movenet.calibration import movenet_feeds
        return movenet_feeds(fp32_path, frames, period_s)
    from posenet_ros.families.posenet.calibration import posenet_feeds
    return posenet_feeds(frames, resolution)


def family_of(path: str | Path) -> str:
    """``movenet`` or ``posenet`` for a model file, by its input; unreadable files: posenet.

    PoseNet's loader then reports a missing or broken file with its own clear error.
    """
    path = Path(path)
    if not path.is_file():
        return POSENET
    if path.suffix.lower() == ".json":
        return MOVENET if _json_input_is_int32(path) else POSENET
    return MOVENET if _onnx_input_is_int32_nhwc(path) else POSENET


def _json_input_is_int32(path: Path) -> bool:
    try:
        nodes = json.loads(path.read_text())["modelTopology"]["node"]
        return any(n.get("op") == "Placeholder"
                   and n.get("attr", {}).get("dtype", {}).get("type") == "DT_INT32"
                   for n in nodes)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _onnx_input_is_int32_nhwc(path: Path) -> bool:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except (OSError, DecodeError, ValueError):
        return False
    initialisers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        return False
    tensor = inputs[0].type.tensor_type
    dims = tensor.shape.dim
    return (tensor.elem_type == onnx.TensorProto.INT32 and len(dims) == 4
            and dims[3].dim_value == 3)
