"""Read a TF.js graph model (model.json + weight shards) of PoseNet MobileNetV1 into plain layers.

Only what PoseNet's MobileNetV1 graphs contain is accepted: ``_FusedConv2D`` (BiasAdd, optionally
Relu6) and ``FusedDepthwiseConv2dNative``, NHWC, padding SAME. Anything else raises a
:class:`GraphError` naming the node, rather than converting a different network wrongly.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
import json
from pathlib import Path

import numpy as np

# The four heads, in the order TF.js MobileNet.nameOutputResults reads them.
HEAD_NAMES = ("offset_2", "heatmap_2", "displacement_fwd_2", "displacement_bwd_2")


class GraphError(ValueError):
    """The file is not a PoseNet MobileNetV1 TF.js graph this converter understands."""


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
    try:
        spec = json.loads(model_json.read_text())
        nodes = spec["modelTopology"]["node"]
        manifest = spec["weightsManifest"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraphError(f"{model_json}: not a TF.js graph model ({exc})") from exc
    consts = _read_weights(model_json.parent, manifest)
    backbone: list[ConvLayer] = []
    heads: dict[str, ConvLayer] = {}
    for node in nodes:
        op = node["op"]
        if op in ("Const", "Placeholder", "Identity"):
            continue
        if op not in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            raise GraphError(f"unsupported op {op} at node {node['name']}")
        layer = _conv_layer(node, consts)
        head = next((h for h in HEAD_NAMES if f"/{h}/" in node["name"]), None)
        if head:
            heads[head] = layer
        else:
            backbone.append(layer)
    if set(heads) != set(HEAD_NAMES):
        raise GraphError(f"expected heads {HEAD_NAMES}, found {sorted(heads)}")
    return PoseNetGraph(backbone, heads)


def _read_weights(folder: Path, manifest: list[dict]) -> dict[str, np.ndarray]:
    consts = {}
    for group in manifest:
        blob = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            if w.get("dtype", "float32") != "float32" or "quantization" in w:
                raise GraphError(f"weight {w['name']}: only float32 weights are supported")
            count = int(np.prod(w["shape"], dtype=np.int64))
            end = offset + 4 * count
            if end > len(blob):
                raise GraphError(f"weight files are shorter than the manifest ({w['name']})")
            consts[w["name"]] = (np.frombuffer(blob, "<f4", count, offset)
                                 .reshape(w["shape"]).copy())
            offset = end
    return consts


def _conv_layer(node: dict, consts: dict[str, np.ndarray]) -> ConvLayer:
    attr = node.get("attr", {})
    name = node["name"]

    def ints(key: str) -> list[int]:
        return [int(i) for i in attr.get(key, {}).get("list", {}).get("i", ["1", "1", "1", "1"])]

    def text(key: str) -> str:
        return base64.b64decode(attr[key]["s"]).decode() if key in attr else ""

    if text("padding") != "SAME" or text("data_format") not in ("", "NHWC"):
        raise GraphError(f"{name}: only NHWC convolutions with SAME padding are supported")
    fused = [base64.b64decode(s).decode()
             for s in attr.get("fused_ops", {}).get("list", {}).get("s", [])]
    if not fused or fused[0] != "BiasAdd" or any(op not in ("BiasAdd", "Relu6") for op in fused):
        raise GraphError(f"{name}: unsupported fused ops {fused}")
    strides, dilations = ints("strides"), ints("dilations")
    if strides[1] != strides[2] or dilations[1] != dilations[2]:
        raise GraphError(f"{name}: only square strides and dilations are supported")
    _, weight_name, bias_name = node["input"][:3]
    return ConvLayer(
        name=name,
        depthwise=node["op"] == "FusedDepthwiseConv2dNative",
        weight=consts[weight_name],
        bias=consts[bias_name],
        stride=strides[1],
        dilation=dilations[1],
        relu6="Relu6" in fused,
    )
