"""Read a TF.js graph model (model.json + weight shards) of PoseNet MobileNetV1 into plain layers.

Only what PoseNet's MobileNetV1 graphs contain is accepted: ``_FusedConv2D`` (BiasAdd, optionally
Relu6) and ``FusedDepthwiseConv2dNative``, NHWC, padding SAME. Anything else, and any malformed
file (parsed by :mod:`tfjs_reader`), raises a :class:`GraphError` (a ``ConfigError``) naming the
file and the node, rather than crashing or converting a different network wrongly.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posenet_ros.convert import tf_ops, tfjs_reader
from posenet_ros.convert.graph_error import GraphError

__all__ = ["ConvLayer", "GraphError", "HEAD_NAMES", "load", "PoseNetGraph"]

# The four heads, in the order TF.js MobileNet.nameOutputResults reads them.
HEAD_NAMES = ("offset_2", "heatmap_2", "displacement_fwd_2", "displacement_bwd_2")


@dataclass
class ConvLayer:
    name: str
    depthwise: bool
    weight: np.ndarray      # TF layout: [kh, kw, in, out] (conv) or [kh, kw, in, 1] (depthwise)
    bias: np.ndarray
    stride: int
    dilation: int
    relu6: bool


@dataclass
class PoseNetGraph:
    backbone: list[ConvLayer]       # Conv2d_0, then depthwise/pointwise pairs, in order
    heads: dict[str, ConvLayer]     # keyed by HEAD_NAMES


def load(model_json: str | Path) -> PoseNetGraph:
    """Parse ``model.json`` and the weight files beside it."""
    model_json = Path(model_json)
    graph = tfjs_reader.read(model_json)
    backbone: list[ConvLayer] = []
    heads: dict[str, ConvLayer] = {}
    for node in graph.nodes:
        if node.op in ("Const", "Placeholder", "Identity"):
            continue
        if node.op not in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            raise GraphError(f"{model_json}: unsupported op {node.op} at node {node.name}")
        try:
            layer = _conv_layer(node, graph.consts)
        except GraphError as err:
            raise GraphError(f"{model_json}: {err}") from None
        head = next((h for h in HEAD_NAMES if f"/{h}/" in node.name), None)
        if head:
            heads[head] = layer
        else:
            backbone.append(layer)
    if set(heads) != set(HEAD_NAMES):
        raise GraphError(f"{model_json}: expected heads {HEAD_NAMES}, found {sorted(heads)}")
    return PoseNetGraph(backbone, heads)


def _conv_layer(node: tfjs_reader.GraphNode, consts: dict[str, np.ndarray]) -> ConvLayer:
    name = node.name
    if (tf_ops.attr_str(node, "padding") != "SAME"
            or tf_ops.attr_str(node, "data_format") not in ("", "NHWC")):
        raise GraphError(f"{name}: only NHWC convolutions with SAME padding are supported")
    fused = tf_ops.attr_strs(node, "fused_ops")
    if not fused or fused[0] != "BiasAdd" or any(op not in ("BiasAdd", "Relu6") for op in fused):
        raise GraphError(f"{name}: unsupported fused ops {fused}")
    strides = tf_ops.attr_ints(node, "strides", [1] * 4)
    dilations = tf_ops.attr_ints(node, "dilations", [1] * 4)
    if len(strides) != 4 or len(dilations) != 4 or strides[1] != strides[2] \
            or dilations[1] != dilations[2]:
        raise GraphError(f"{name}: only square strides and dilations are supported")
    if len(node.inputs) < 3 or any(i not in consts for i in node.inputs[1:3]):
        raise GraphError(f"{name}: filter and bias must be constants with weight data")
    weight, bias = consts[node.inputs[1]], consts[node.inputs[2]]
    channels = weight.shape[3] * (weight.shape[2] if "Depthwise" in node.op else 1) \
        if weight.ndim == 4 else -1
    if bias.shape != (channels,):
        raise GraphError(f"{name}: filter {weight.shape} and bias {bias.shape} do not match")
    return ConvLayer(
        name=name,
        depthwise=node.op == "FusedDepthwiseConv2dNative",
        weight=weight.astype(np.float32),
        bias=bias.astype(np.float32),
        stride=strides[1],
        dilation=dilations[1],
        relu6="Relu6" in fused,
    )
