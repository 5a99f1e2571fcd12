"""MoveNet conversion: exact simplification, rebuild rules, routing of model files, config."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from posenet_ros.convert import graph_convert, tfjs_reader
from posenet_ros.convert.models import build_movenet
from posenet_ros.core import paths
from posenet_ros.core.config import ConfigError, EstimatorConfig
from posenet_ros.families import (
    check_model, FAMILIES, family_of, load_model, MOVENET, NAMES_BY_FAMILY)
import pytest


def _source(name: str) -> Path:
    path = paths.weights_dir() / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} missing: run `make setup`")
    return path


def _session(model: onnx.ModelProto):
    import onnxruntime as ort
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name,size", [("movenet-lightning", (192, 192)),
                                       ("movenet-multipose", (192, 256))])
def test_simplified_graph_is_bit_identical_to_the_literal_translation(video_frames, name, size):
    from posenet_ros.families.movenet import image_ops

    graph = tfjs_reader.read(_source(name))
    literal = graph_convert.to_onnx(graph, name, simplify=False)
    simple = graph_convert.to_onnx(graph, name)
    assert len(simple.graph.node) < len(literal.graph.node)
    assert not [n for n in simple.graph.node if n.op_type == "Split" and len(n.output) == 1]
    frame = video_frames[3]
    x = (image_ops.multipose_input(frame)[0] if name.endswith("multipose") else
         image_ops.crop_and_resize(frame, (0.05, 0.2, 0.95, 0.8), size))
    assert x.shape[1:3] == size
    a = _session(literal).run(None, {graph_convert.INPUT: x})[0]
    b = _session(simple).run(None, {graph_convert.INPUT: x})[0]
    np.testing.assert_array_equal(a, b)


def test_installed_models_are_current_and_not_rebuilt(tmp_path):
    for name in NAMES_BY_FAMILY[MOVENET]:
        target = paths.models_dir() / f"{name}.onnx"
        if not target.is_file():
            pytest.skip(f"{target} not converted: run `posenet-ros convert`")
        assert graph_convert.is_current(target, _source(name))
    assert build_movenet(paths.weights_dir(), paths.models_dir(), NAMES_BY_FAMILY[MOVENET]) == []
    stale = onnx.load(str(paths.models_dir() / "movenet-lightning.onnx"))
    for prop in stale.metadata_props:
        if prop.key == "converter_version":
            prop.value = "movenet-0"
    onnx.save(stale, str(tmp_path / "movenet-lightning.onnx"))
    assert not graph_convert.is_current(tmp_path / "movenet-lightning.onnx",
                                        _source("movenet-lightning"))


def test_model_files_are_routed_by_their_input(tmp_path):
    lightning = paths.models_dir() / "movenet-lightning.onnx"
    posenet = paths.default_model(16)
    if not (lightning.is_file() and posenet.is_file()):
        pytest.skip("converted models missing: run `posenet-ros convert`")
    assert family_of(lightning) == "movenet"
    assert family_of(_source("movenet-thunder")) == "movenet"
    assert family_of(posenet) == "posenet"
    assert family_of(_source("posenet")) == "posenet"
    renamed = tmp_path / "posenet-looking-name.onnx"         # the name does not decide
    renamed.write_bytes(lightning.read_bytes())
    assert family_of(renamed) == "movenet"
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    assert family_of(junk) == "posenet"     # PoseNet's loader then reports it clearly


def test_config_names_and_smoothing():
    assert set(NAMES_BY_FAMILY[MOVENET]) | {"posenet"} == set(FAMILIES)
    assert EstimatorConfig().smoothing is True
    for name in NAMES_BY_FAMILY[MOVENET]:
        assert EstimatorConfig(model=name).model == name
    with pytest.raises(ConfigError, match="movenet-thunderr"):      # the registry's check
        check_model(EstimatorConfig(model="movenet-thunderr"))
    with pytest.raises(ConfigError, match="movenet-thunderr.*neither one of"):   # at load
        load_model(EstimatorConfig(model="movenet-thunderr", providers=("cpu",)))
    # int8 is MoveNet's too now, where the guard let it in (test_int8.py)
    assert EstimatorConfig(model="movenet-thunder", precision="int8").precision == "int8"
    with pytest.raises(ConfigError, match="smoothing"):
        EstimatorConfig(smoothing="yes")
    assert EstimatorConfig(model="/some/where/model.onnx").model.endswith(".onnx")
