"""Whole TF.js graph -> ONNX, op by op: MoveNet Lightning, Thunder and MultiPose.

Why the whole graph, post-processing included, rather than a cut at the four head
convolutions with the decoding redone in numpy: pose-detection 2.1.3 does no decoding of its
own for MoveNet. It runs this very graph and reads its output, [1, 1, 17, 3] (single pose:
y, x, score in the crop) or [1, 6, 56] (MultiPose: 17 x (y, x, score), box, score). Everything
between the heads and that output is in the graph: the centre heatmap weighted by distance to
the image centre, ArgMax, GatherNd of regressions and offsets, the distance-weighted keypoint
choice (Sqrt, RealDiv, a second ArgMax) and, for MultiPose, MaxPool peak finding, TopKV2 of
six centres, boxes clipped with Minimum/Maximum, and ~150 ops of StridedSlice, Tile and Select
to match keypoints to people. Translating those ops one to one (:mod:`tf_ops`, about 40
kinds) gives the reference's own computation; a numpy rewrite would be a second
implementation of ~150 undocumented ops, to be kept exact by hand. The numpy side
(:mod:`posenet_ros.families.movenet`) therefore only does what pose-detection does in JavaScript
around the graph: cropping, resizing, padding, mapping to pixels, smoothing.

Weights are dequantised from float16 exactly as tfjs does (:mod:`tfjs_reader`). The input
stays TF's int32 NHWC; the graph's own Cast/Sub/Mul normalise it. Cached models record the
source files' hash and :data:`CONVERTER_VERSION`, as PoseNet's do (:mod:`convert`).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from google.protobuf.message import DecodeError
import onnx
from onnx import helper, TensorProto

from posenet_ros.convert import graph_simplify, tf_ops, tfjs_reader
from posenet_ros.convert.graph_error import GraphError
from posenet_ros.convert.metadata import read_metadata

log = logging.getLogger(__name__)

# Bump when the emitted graph changes, so `posenet-ros convert` rebuilds cached models.
CONVERTER_VERSION = "movenet-2"
OPSET = 17
IR_VERSION = 8
INPUT = "input"         # int32 [1, height, width, 3] RGB 0..255, as the TF graph takes it
OUTPUT = "output"       # float32, the graph's own output ([1, 1, 17, 3] or [1, 6, 56])
_PASS = ("Const", "NoOp")


def to_onnx(graph: tfjs_reader.TfjsGraph, name: str, source: str = "",
            simplify: bool = True) -> onnx.ModelProto:
    """Translate every node of ``graph``; the single Placeholder becomes ``input``.

    ``simplify`` applies :mod:`graph_simplify`'s exact rewrites (off: the literal translation).
    """
    e = tf_ops.Emitter(graph.consts)
    placeholders = [n for n in graph.nodes if n.op == "Placeholder"]
    if len(placeholders) != 1:
        raise GraphError(f"{graph.path}: expected one Placeholder, found {len(placeholders)}")
    placeholder = placeholders[0]
    consumed = {i.split(":")[0] for n in graph.nodes for i in n.inputs}
    used_consts = sorted(c for c in consumed if c in graph.consts)
    known = {n.name for n in graph.nodes} | set(graph.consts)
    for node in graph.nodes:
        if node.op == "Const":
            if node.name not in graph.consts and node.name in consumed:
                raise GraphError(f"{graph.path}: constant {node.name} has no weight data")
            continue
        if node.op == "Placeholder":
            e.add("Identity", [INPUT], [f"{node.name}:0"])
            continue
        for i in node.inputs:
            if i.split(":")[0] not in known:
                raise GraphError(f"{graph.path}: node {node.name} reads unknown tensor {i}")
        try:
            tf_ops.translate(e, node)
        except GraphError as err:
            raise GraphError(f"{graph.path}: {err}") from None
    read = {i for n in e.nodes for i in n.input}
    for c in (c for c in used_consts if f"{c}:0" in read):     # not those folded into attrs
        e.inits.append(onnx.numpy_helper.from_array(graph.consts[c], f"{c}:0"))
    sinks = [n for n in graph.nodes if n.name not in consumed and n.op not in _PASS
             and n.op != "Placeholder"]
    if len(sinks) != 1:
        raise GraphError(f"{graph.path}: expected one output node, found "
                         f"{[n.name for n in sinks]}")
    e.add("Identity", [f"{sinks[0].name}:0"], [OUTPUT])
    dims = _placeholder_dims(graph, placeholder)
    inputs = [helper.make_tensor_value_info(INPUT, TensorProto.INT32, dims)]
    outputs = [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, _output_dims(graph))]
    model = helper.make_model(
        helper.make_graph(e.nodes, name, inputs, outputs, e.inits),
        opset_imports=[helper.make_opsetid("", OPSET)], producer_name="posenet_ros")
    model.ir_version = IR_VERSION
    meta = {"architecture": name, "converter_version": CONVERTER_VERSION, "source": source,
            "input": "int32 NHWC RGB 0..255 (the TF graph's own input)",
            "input_shape": ",".join(str(d) for d in dims)}
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    if simplify:
        graph_simplify.simplify(model)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        raise GraphError(f"{graph.path}: the translated graph is invalid: {err}") from None
    return model


def _placeholder_dims(graph: tfjs_reader.TfjsGraph, node: tfjs_reader.GraphNode) -> list:
    try:
        sizes = [int(d.get("size", -1)) for d in node.attr["shape"]["shape"]["dim"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise GraphError(f"{graph.path}: Placeholder {node.name} has no readable shape") from None
    if len(sizes) != 4 or sizes[3] != 3:
        raise GraphError(f"{graph.path}: input shape {sizes} is not [batch, h, w, 3]")
    names = ("batch", "height", "width", "channels")
    return [s if s > 0 else names[i] for i, s in enumerate(sizes)]


def _output_dims(graph: tfjs_reader.TfjsGraph) -> list:
    """Return the signature's output shape, with named dims where it is dynamic."""
    try:
        (spec,) = graph.signature["outputs"].values()
        sizes = [int(d.get("size", -1)) for d in spec["tensorShape"]["dim"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise GraphError(f"{graph.path}: the signature names no single output shape") from None
    return [s if s > 0 else f"out{i}" for i, s in enumerate(sizes)]


def source_tag(model_json: str | Path) -> str:
    """``name sha256:...`` of model.json and the shards its manifest names."""
    model_json = Path(model_json)
    h = hashlib.sha256(model_json.read_bytes())
    for shard in tfjs_reader.weight_files(model_json):
        try:
            h.update(shard.read_bytes())
        except OSError as exc:
            raise GraphError(f"{model_json}: weight shard {shard.name} unreadable "
                             f"({exc})") from None
    return f"{model_json.name} sha256:{h.hexdigest()[:16]}"


def is_current(onnx_path: str | Path, model_json: str | Path) -> bool:
    """Tell whether ``onnx_path`` was built from these files by this converter version."""
    try:
        meta = read_metadata(onnx_path)
        tag = source_tag(model_json)
    except (OSError, DecodeError, GraphError):      # missing or unreadable: rebuild
        return False
    return meta.get("converter_version") == CONVERTER_VERSION and meta.get("source") == tag


def convert(model_json: str | Path, out_path: str | Path, name: str | None = None) -> Path:
    """Convert ``model_json`` and write it atomically to ``out_path``."""
    model_json, out_path = Path(model_json), Path(out_path)
    graph = tfjs_reader.read(model_json)
    model = to_onnx(graph, name or model_json.stem, source=source_tag(model_json))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(out_path)
    log.info("wrote %s", out_path)
    return out_path
