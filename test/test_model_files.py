"""Model files that crashed, hung or starved the loader (issue 22), made from the real models.

Each must fail to load with one ModelError (or, for a TF.js graph, GraphError) naming the
file and the problem, quickly, and without reading what it should not read.
"""
from __future__ import annotations

import os
from pathlib import Path
import threading
import time

import numpy as np
import onnx
from onnx import helper, TensorProto
from posenet_ros.convert import io_names
from posenet_ros.core import model_files, paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.families import load_model
from posenet_ros.runtime.session import ModelError
import pytest


def load(path: Path, **settings):
    """Load ``path`` as the engine does, on the CPU; return the model or raise."""
    return load_model(EstimatorConfig(model=str(path), providers=("cpu",), **settings))


def load_quickly(path: Path, seconds: float = 10.0):
    """Load in a thread so a hang fails this test instead of blocking the run; return the error."""
    result: dict = {}

    def run() -> None:
        try:
            result["model"] = load(path)
        except Exception as exc:    # the test looks at what it was
            result["error"] = exc
    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        if path.exists() and not path.is_symlink() and path.stat().st_size == 0 \
                and not path.is_file():     # a FIFO: a writer that closes unblocks the reader
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"loading {path.name} did not return in {seconds} s")
    return result.get("error"), time.monotonic() - started


@pytest.fixture(scope="module")
def posenet_proto(models) -> onnx.ModelProto:
    return onnx.load(str(models[16]))


@pytest.fixture(scope="module")
def movenet_path() -> Path:
    path = paths.models_dir() / "movenet-lightning.onnx"
    if not path.is_file():
        pytest.skip(f"{path} missing: run `make setup`")
    return path


def save(tmp_path: Path, model: onnx.ModelProto, name: str = "model.onnx") -> Path:
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def with_outputs(model: onnx.ModelProto, reshape: dict[str, list[int]]) -> onnx.ModelProto:
    """Copy ``model`` with some outputs reshaped (same names), e.g. flattened to rank 2."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    for name, shape in reshape.items():
        inner = f"{name}/before_reshape"
        for node in graph.node:
            node.output[:] = [inner if o == name else o for o in node.output]
        graph.initializer.append(onnx.numpy_helper.from_array(
            np.array(shape, np.int64), f"{name}/shape"))
        graph.node.append(helper.make_node("Reshape", [inner, f"{name}/shape"], [name]))
        output = next(o for o in graph.output if o.name == name)
        output.type.tensor_type.shape.Clear()
        for d in shape:
            output.type.tensor_type.shape.dim.add().dim_param = "d" if d <= 0 else ""
    return out


def test_an_onnx_without_inputs_is_refused(tmp_path):
    """Only constants: loaded fine before, then IndexError in PoseNetModel.__init__."""
    const = helper.make_node("Constant", [], [io_names.HEATMAP], value=helper.make_tensor(
        "v", TensorProto.FLOAT, [1, 17, 1, 1], [0.0] * 17))
    graph = helper.make_graph([const], "g", [], [helper.make_tensor_value_info(
        io_names.HEATMAP, TensorProto.FLOAT, [1, 17, 1, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8        # what onnxruntime reads
    path = save(tmp_path, model)
    with pytest.raises(ModelError, match="expected one image input of rank 4.*inputs: none"):
        load(path)


def test_a_rank0_input_is_refused(tmp_path, posenet_proto):
    """A scalar input the graph ignores: ORT loads it, then IndexError in __init__."""
    outputs = list(posenet_proto.graph.output)
    consts = [helper.make_node("Constant", [], [o.name], value=helper.make_tensor(
        "v", TensorProto.FLOAT, [1, io_names.CHANNELS[o.name], 1, 1],
        [0.0] * io_names.CHANNELS[o.name])) for o in outputs]
    graph = helper.make_graph(consts, "g", [helper.make_tensor_value_info(
        io_names.INPUT, TensorProto.FLOAT, [])], [helper.make_tensor_value_info(
            o.name, TensorProto.FLOAT, [1, io_names.CHANNELS[o.name], 1, 1]) for o in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = save(tmp_path, model)
    with pytest.raises(ModelError, match=r"one image input of rank 4.*'image' \[\]"):
        load(path)
    with pytest.raises(ModelError, match="one image input of rank 4"):
        load(path, preprocess="device")     # the fused-preprocessing path checks it too


def test_a_zero_sized_input_is_refused_at_load(tmp_path, posenet_proto):
    """A 0x0 input loaded, then every frame failed with a traceback."""
    model = onnx.ModelProto()
    model.CopyFrom(posenet_proto)
    for axis in (2, 3):
        model.graph.input[0].type.tensor_type.shape.dim[axis].dim_value = 0
    with pytest.raises(ModelError, match="without zero-sized dimensions.*'image' \\[.*0, 0\\]"):
        load(save(tmp_path, model))


def test_outputs_of_the_wrong_rank_are_refused_at_load(tmp_path, posenet_proto):
    model = with_outputs(posenet_proto, {io_names.HEATMAP: [0, -1]})
    with pytest.raises(ModelError, match="output 'heatmap' has rank 2; PoseNet's heatmap has "
                                         "rank 4"):
        load(save(tmp_path, model))


def sliced(model: onnx.ModelProto, name: str, axis: int, end: int) -> onnx.ModelProto:
    """Copy ``model`` with output ``name`` cut to ``end`` entries along ``axis`` (same rank)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    for node in graph.node:
        node.output[:] = [f"{name}/all" if o == name else o for o in node.output]
    for part, values in (("starts", [0]), ("ends", [end]), ("axes", [axis])):
        graph.initializer.append(onnx.numpy_helper.from_array(np.array(values, np.int64),
                                                              f"{name}/{part}"))
    graph.node.append(helper.make_node("Slice", [f"{name}/all", f"{name}/starts",
                                                 f"{name}/ends", f"{name}/axes"], [name]))
    next(o for o in graph.output if o.name == name).type.tensor_type.shape \
        .dim[axis].dim_value = end
    return out


def test_outputs_the_decoder_cannot_use_fail_the_dry_run(tmp_path, posenet_proto):
    """Rank 4 but 3 heatmap channels instead of 17: only running a frame shows it."""
    model = sliced(posenet_proto, io_names.HEATMAP, 1, 3)
    with pytest.raises(ModelError, match="loads but cannot estimate poses on a test frame"):
        load(save(tmp_path, model))


@pytest.mark.engine
def test_a_movenet_graph_with_a_wrong_output_fails_the_dry_run(tmp_path, movenet_path):
    """(y, x) without scores: [1, 1, 17, 2] instead of [1, 1, 17, 3]."""
    model = sliced(onnx.load(str(movenet_path)), "output", 3, 2)
    with pytest.raises(ModelError, match="loads but cannot estimate poses"):
        load(save(tmp_path, model))


def test_the_real_models_still_load_and_estimate(models, movenet_path, still_with_people):
    for path in (models[16], movenet_path):
        model = load(path)
        assert model.providers[0] == "CPUExecutionProvider"


HOSTILE = {
    "fifo": (os.mkfifo, "is a FIFO, not a regular file"),
    "link to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), "is a character device"),
    "sparse 2 GB": (lambda p: os.truncate(p.open("wb").name, 2 * 2**30),
                    "more than the 512 MB"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("suffix", [".onnx", ".json"])
def test_files_that_hang_or_fill_memory_are_refused_without_reading(tmp_path, case, suffix):
    make, problem = HOSTILE[case]
    path = tmp_path / f"model{suffix}"
    make(path)
    error, seconds = load_quickly(path)
    assert error is not None and problem in str(error), error
    assert seconds < 1.0, f"{seconds:.1f} s: the file was read"


def test_a_model_path_of_10_mb_gives_a_short_error(tmp_path):
    path = "/tmp/" + "m" * 10_000_000 + ".onnx"
    with pytest.raises((ModelError, ValueError)) as caught:
        load(Path(path))
    assert len(str(caught.value)) < 1000
    assert "10000010 chars" in str(caught.value) or "10000005 chars" in str(caught.value)


def test_the_bound_is_documented_and_above_the_real_models(models, movenet_path):
    for path in (*models.values(), movenet_path):
        assert model_files.checked_size(path) < model_files.MAX_MODEL_BYTES / 10


def test_external_data_that_hangs_is_refused(tmp_path, posenet_proto):
    """ONNX Runtime reads a model's external data files too: a FIFO there hung it."""
    path = tmp_path / "model.onnx"
    onnx.save(posenet_proto, str(path), save_as_external_data=True,
              all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    assert load(path).providers      # the real model, its weights beside it, loads
    (tmp_path / "weights.bin").unlink()
    os.mkfifo(tmp_path / "weights.bin")
    error, seconds = load_quickly(path)
    assert isinstance(error, ModelError) and "is a FIFO" in str(error), error
    assert "external data file" in str(error)


@pytest.mark.parametrize("setting", ["model", "decoder", "precision", "preprocess"])
def test_a_10_mb_setting_gives_a_short_error(setting):
    """A 10 MB ``model`` string logged 20 MB: the error repeated the whole value."""
    from posenet_ros.core.config import ConfigError
    from posenet_ros.families import check_model
    with pytest.raises(ConfigError) as caught:      # a name no family has: the registry's check
        check_model(EstimatorConfig(**{setting: "\n" + "x" * 10_000_000}))
    text = str(caught.value)
    assert len(text) < 400 and "\n" not in text and "(10000001 chars)" in text
