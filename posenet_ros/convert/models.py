"""TF.js PoseNet graph -> ONNX, for output stride 8, 16 or 32 from the same weights.

The graph's MobileNetV1 reaches its native output stride (16 for the shipped weights) by
dropping the last stride-2 step. Other strides re-plan every depthwise layer the way
tfjs-models' ``toOutputStridedLayers`` does: once the running stride reaches the target, later
layers stop striding and dilate instead (atrous convolution), so the receptive field each
filter was trained on is preserved while the output grid gets finer (8) or coarser (32).

The ONNX model is NCHW with dynamic batch, height and width. Output names and layouts live in
:mod:`posenet_ros.convert.io_names`.
"""
from __future__ import annotations

from collections.abc import Sequence
import logging
from pathlib import Path

from google.protobuf.message import DecodeError
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

from posenet_ros.convert import graph_convert, io_names
from posenet_ros.convert.metadata import read_metadata
from posenet_ros.convert.tfjs_graph import ConvLayer, GraphError, load, PoseNetGraph
from posenet_ros.core.config import VALID_STRIDES

log = logging.getLogger(__name__)

# Strides of MobileNetV1's 14 blocks (Conv2d_0, then depthwise-separable blocks 1..13).
MOBILENET_V1_STRIDES = (2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
# Bump when the emitted graph changes, so `posenet-ros convert` rebuilds cached models.
CONVERTER_VERSION = "1"
OPSET = 17          # Clip with tensor bounds, broad ONNX Runtime support (>= 1.12)
IR_VERSION = 8


def strided_plan(output_stride: int) -> list[tuple[int, int]]:
    """(stride, dilation) per block: tfjs-models ``toOutputStridedLayers``."""
    plan, current, rate = [], 1, 1
    for stride in MOBILENET_V1_STRIDES:
        if current == output_stride:
            plan.append((1, rate))
            rate *= stride
        else:
            plan.append((stride, 1))
            current *= stride
    return plan


def graph_blocks(graph: PoseNetGraph) -> list[list[ConvLayer]]:
    """Group backbone layers into blocks: [conv0], then [depthwise, pointwise] pairs."""
    layers = graph.backbone
    if len(layers) != 1 + 2 * (len(MOBILENET_V1_STRIDES) - 1) or layers[0].depthwise:
        raise GraphError(f"expected MobileNetV1 (27 backbone convolutions), found {len(layers)}")
    return [layers[:1]] + [layers[i:i + 2] for i in range(1, len(layers), 2)]


def native_stride(graph: PoseNetGraph) -> int:
    return int(np.prod([block[0].stride for block in graph_blocks(graph)]))


def block_plan(graph: PoseNetGraph, output_stride: int) -> list[tuple[int, int]]:
    """Return the (stride, dilation) of each block for ``output_stride``.

    At the graph's own stride the graph is kept exactly as shipped (parity with TF.js). The
    shipped stride-16 graph has no dilation where the tfjs plan would dilate its last block;
    other strides therefore scale the tfjs dilations by the graph's own ratio to them, so the
    re-planned network sees each block's input at the same spacing the weights were used with.
    """
    if output_stride not in VALID_STRIDES:
        raise ValueError(f"output stride must be one of {VALID_STRIDES}")
    blocks = graph_blocks(graph)
    native = native_stride(graph)
    shipped = [(block[0].stride, block[0].dilation) for block in blocks]
    if [s for s, _ in shipped] != [s for s, _ in strided_plan(native)]:
        raise GraphError(f"block strides {[s for s, _ in shipped]} are not MobileNetV1's "
                         f"at stride {native}")
    if output_stride == native:
        return shipped
    plan = []
    for (_, graph_rate), (_, native_rate), (stride, rate) in zip(
            shipped, strided_plan(native), strided_plan(output_stride)):
        plan.append((stride, max(1, rate * graph_rate // native_rate)))
    return plan


def to_onnx(graph: PoseNetGraph, output_stride: int, source: str = "") -> onnx.ModelProto:
    """Build the ONNX model for ``output_stride``."""
    nodes, inits = [], []
    inits += [numpy_helper.from_array(np.array(0.0, np.float32), "relu6_min"),
              numpy_helper.from_array(np.array(6.0, np.float32), "relu6_max")]
    x = io_names.INPUT
    plan = block_plan(graph, output_stride)
    for b, (block, (stride, dilation)) in enumerate(zip(graph_blocks(graph), plan)):
        for layer in block:
            is_spatial = layer.weight.shape[0] > 1
            x = _conv(nodes, inits, layer, x,
                      stride if is_spatial else 1, dilation if is_spatial else 1, f"block{b}")
    features = x
    outputs = []
    for head, name in io_names.HEAD_OUTPUTS.items():
        y = _conv(nodes, inits, graph.heads[head], features, 1, 1, head)
        if name == io_names.HEATMAP:
            nodes.append(helper.make_node("Sigmoid", [y], [name]))
        else:
            nodes.append(helper.make_node("Identity", [y], [name]))
        outputs.append(helper.make_tensor_value_info(
            name, TensorProto.FLOAT,
            ["batch", io_names.CHANNELS[name], "grid_height", "grid_width"]))
    inputs = [helper.make_tensor_value_info(io_names.INPUT, TensorProto.FLOAT,
                                            ["batch", 3, "height", "width"])]
    model = helper.make_model(
        helper.make_graph(nodes, f"posenet_mobilenet_stride{output_stride}", inputs, outputs,
                          inits),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="posenet_ros")
    model.ir_version = IR_VERSION
    meta = {"output_stride": str(output_stride), "architecture": "MobileNetV1",
            "converter_version": CONVERTER_VERSION,
            "input": "RGB, NCHW, pixel / 127.5 - 1", "source": source,
            "block_plan": ";".join(f"{s}x{d}" for s, d in plan)}
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return model


def _conv(nodes: list, inits: list, layer: ConvLayer, x: str, stride: int, dilation: int,
          prefix: str) -> str:
    kh, kw, cin, cout = layer.weight.shape
    if layer.depthwise:
        # TF [kh, kw, in, multiplier] -> ONNX [in * multiplier, 1, kh, kw], group=in
        weight = layer.weight.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw)
        group = cin
    else:
        # TF [kh, kw, in, out] -> ONNX [out, in, kh, kw]
        weight = layer.weight.transpose(3, 2, 0, 1)
        group = 1
    name = f"{prefix}/{layer.name.split('/')[-2] if '/' in layer.name else layer.name}"
    inits += [numpy_helper.from_array(np.ascontiguousarray(weight, np.float32), f"{name}/W"),
              numpy_helper.from_array(layer.bias.astype(np.float32), f"{name}/B")]
    attrs = {"kernel_shape": [kh, kw], "strides": [stride, stride],
             "dilations": [dilation, dilation], "group": group}
    if stride == 1:
        # TF SAME at stride 1 is symmetric and size-independent.
        ph, pw = dilation * (kh - 1) // 2, dilation * (kw - 1) // 2
        attrs["pads"] = [ph, pw, ph, pw]
    else:
        # Depends on the input size: let the runtime pad as TF does (extra at the end).
        attrs["auto_pad"] = "SAME_UPPER"
    out = f"{name}/conv"
    nodes.append(helper.make_node("Conv", [x, f"{name}/W", f"{name}/B"], [out], name=name,
                                  **attrs))
    if layer.relu6:
        nodes.append(helper.make_node("Clip", [out, "relu6_min", "relu6_max"], [f"{name}/relu6"]))
        out = f"{name}/relu6"
    return out


def _source_tag(model_json: Path) -> str:
    """Hash of model.json and the shards its manifest names (not every .bin beside it)."""
    return graph_convert.source_tag(model_json)


def is_current(onnx_path: str | Path, model_json: str | Path) -> bool:
    """Tell whether ``onnx_path`` was built from these weights by this converter version."""
    try:
        meta = read_metadata(onnx_path)
        tag = _source_tag(Path(model_json))
    except (OSError, DecodeError, GraphError):       # missing or unreadable: rebuild
        return False
    return (meta.get("converter_version") == CONVERTER_VERSION
            and meta.get("source") == tag)


def convert(model_json: str | Path, output_stride: int, out_path: str | Path) -> Path:
    """Convert ``model_json`` for ``output_stride`` and write it atomically to ``out_path``."""
    model_json, out_path = Path(model_json), Path(out_path)
    model = to_onnx(load(model_json), output_stride, source=_source_tag(model_json))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(out_path)
    log.info("wrote %s (output stride %d)", out_path, output_stride)
    return out_path


def build_movenet(weights_dir: str | Path, out_dir: str | Path, names: Sequence[str],
                  force: bool = False) -> list[Path]:
    """Convert the MoveNet graphs ``names`` in ``weights_dir`` whose ONNX models are stale.

    The names are the family registry's (``families.NAMES_BY_FAMILY``), which lies above this
    build-time package: the caller passes them.
    """
    built = []
    for name in names:
        source, target = Path(weights_dir) / f"{name}.json", Path(out_dir) / f"{name}.onnx"
        if not force and graph_convert.is_current(target, source):
            log.info("%s is up to date", target)
            continue
        built.append(graph_convert.convert(source, target, name))
    return built
