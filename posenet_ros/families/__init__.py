"""Model families behind one seam (:mod:`posenet_ros.families.base`).

``EstimatorConfig.model`` picks the model: one of :data:`MODEL_NAMES` (each family's folder
lists its own ``NAMES``) or None for the default PoseNet, or a model file. A file is routed by
what it holds, not by its name: a converted MoveNet ONNX graph takes TF's int32 NHWC image, a
MoveNet ``model.json`` has an int32 Placeholder (PoseNet's graphs and converted models take
float); everything else is PoseNet's. A new family is a folder with its ``NAMES`` and a
:class:`~posenet_ros.families.base.PoseModel`, plus one line in :data:`NAMES_BY_FAMILY` and
its loader here; the CLI's and the node's model choices follow.

Every model loaded runs one black frame through its family's prepare, run and decode before
it is returned: a model that loads but cannot produce poses (outputs of the wrong rank, a
zero-sized input) fails to load with a :class:`~posenet_ros.runtime.session.ModelError`,
instead of failing on every frame.
"""
from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path

import numpy as np

from posenet_ros.core import model_files
from posenet_ros.core.config import ConfigError, EstimatorConfig, is_model_name
from posenet_ros.core.throttle import shorten
from posenet_ros.families import movenet, posenet
from posenet_ros.families.base import PoseModel
from posenet_ros.runtime.session import ModelError

# The dry run's frame (height, width): small, as prepare() scales it to the network input.
DRY_FRAME = (48, 64)

POSENET, MOVENET = "posenet", "movenet"
#: Each family's model names, from its own folder.
NAMES_BY_FAMILY = {POSENET: posenet.NAMES, MOVENET: movenet.NAMES}
MODEL_NAMES = tuple(name for names in NAMES_BY_FAMILY.values() for name in names)
DEFAULT_MODEL = posenet.NAMES[0]


def _posenet(config: EstimatorConfig) -> PoseModel:
    from posenet_ros.families.posenet.family import PoseNet
    return PoseNet(config)


def _movenet(config: EstimatorConfig) -> PoseModel:
    from posenet_ros.families.movenet.family import MoveNet
    return MoveNet(config)


#: Model name -> loader. Names not listed are model file paths (routed by :func:`family_of`).
_FILE_LOADERS = {POSENET: _posenet, MOVENET: _movenet}
FAMILIES: dict[str, Callable[[EstimatorConfig], PoseModel]] = {
    name: _FILE_LOADERS[family] for family, names in NAMES_BY_FAMILY.items() for name in names}


def check_model(config: EstimatorConfig) -> None:
    """Raise ConfigError when ``config.model`` is a name no family has."""
    if config.model is not None and is_model_name(config.model) \
            and config.model not in FAMILIES:
        raise ConfigError(f"model {shorten(config.model)} is neither one of "
                          f"{', '.join(MODEL_NAMES)} nor an ONNX or TF.js model.json file "
                          "(.onnx, .json)")


def load_model(config: EstimatorConfig) -> PoseModel:
    """Load the model ``config.model`` names (None: PoseNet)."""
    check_model(config)
    name = config.model or DEFAULT_MODEL
    loader = FAMILIES[name] if name in FAMILIES else _FILE_LOADERS[family_of(name)]
    model = loader(config)
    dry_run(model, config)
    return model


def dry_run(model: PoseModel, config: EstimatorConfig) -> None:
    """Run one black frame through ``model``; raise :class:`ModelError` when that fails.

    What fails here would fail on every frame (a wrong-rank output, a zero-sized input).
    """
    frame = np.zeros((*DRY_FRAME, 3), np.uint8)
    state = model.new_state()
    try:
        prepared = model.prepare([frame], config, [state])
        found = model.decode(model.run(prepared), prepared, config, [state], [None])
        if len(found) != 1:
            raise ValueError(f"decoding one frame gave {len(found)} results")
    except Exception as exc:    # any failure means the model cannot serve: refuse it
        raise ModelError(f"{model.name} loads but cannot estimate poses on a test frame "
                         f"({type(exc).__name__}: {shorten(str(exc), 300)}): not a model of "
                         "this family, or a broken one") from exc


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
    json_file = path.suffix.lower() == ".json"
    try:    # never read a FIFO, a device or a huge file
        model_files.checked_size(path, limit=model_files.MAX_MODEL_JSON_BYTES if json_file
                                 else model_files.MAX_MODEL_BYTES)
    except model_files.ModelFileError:
        return POSENET
    if json_file:
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
    from google.protobuf.message import DecodeError
    import onnx

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
