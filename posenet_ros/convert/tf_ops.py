"""TensorFlow graph ops -> ONNX nodes, one translator per op, keeping TF's NHWC semantics.

Tensors keep TF's layout everywhere; a convolution or pooling is wrapped in Transpose to
NCHW and back, and ONNX Runtime's transpose optimiser cancels the pairs between consecutive
layers. TF index tensors are int32, ONNX shape/index inputs int64: casts are inserted where
ONNX requires them, and ONNX's int64 results (Shape, ArgMax, TopK indices) are cast back to
the int32 TF produces, so every tensor has the dtype it has in TF. An op, attribute or
argument outside what is translated raises :class:`GraphError` naming the node.
"""
from __future__ import annotations

import base64

import numpy as np
from onnx import helper, numpy_helper, TensorProto

from posenet_ros.convert.graph_error import GraphError
from posenet_ros.convert.tfjs_reader import GraphNode

_TF_TYPES = {"DT_FLOAT": TensorProto.FLOAT, "DT_INT32": TensorProto.INT32,
             "DT_BOOL": TensorProto.BOOL, "DT_INT64": TensorProto.INT64}
_ELEMENTWISE = {"AddV2": "Add", "Add": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div",
                "Maximum": "Max", "Minimum": "Min", "Less": "Less", "Greater": "Greater",
                "Equal": "Equal", "GreaterEqual": "GreaterOrEqual", "LessEqual": "LessOrEqual",
                "LogicalAnd": "And", "Sqrt": "Sqrt", "Exp": "Exp", "Abs": "Abs",
                "Reciprocal": "Reciprocal", "Sigmoid": "Sigmoid", "Relu": "Relu",
                "Identity": "Identity", "Select": "Where", "Neg": "Neg"}
_BIG = np.iinfo(np.int64).max


class Emitter:
    """Collects ONNX nodes and initialisers for one graph; names follow TF's ``node:k``."""

    def __init__(self, consts: dict[str, np.ndarray]) -> None:
        self.consts = consts
        self.nodes: list = []
        self.inits: list = []
        self._count = 0

    @staticmethod
    def ref(tf_input: str) -> str:
        return tf_input if ":" in tf_input else f"{tf_input}:0"

    def const_value(self, node: GraphNode, index: int) -> np.ndarray:
        """Return the constant behind input ``index`` (attributes TF passes as tensors)."""
        if index >= len(node.inputs):
            raise GraphError(f"node {node.name} ({node.op}) lacks input {index}")
        name = node.inputs[index].split(":")[0]
        if name not in self.consts:
            raise GraphError(f"node {node.name} ({node.op}): input {index} must be a constant")
        return self.consts[name]

    def tmp(self, hint: str) -> str:
        self._count += 1
        return f"{hint}/_{self._count}"

    def init(self, hint: str, value: np.ndarray) -> str:
        name = self.tmp(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def add(self, op: str, inputs: list[str], outputs: list[str] | None = None,
            hint: str = "t", **attrs) -> list[str]:
        outputs = outputs or [self.tmp(hint)]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=self.tmp(op), **attrs))
        return outputs

    def one(self, op: str, inputs: list[str], hint: str = "t", **attrs) -> str:
        return self.add(op, inputs, hint=hint, **attrs)[0]

    def as_int64(self, x: str) -> str:
        return self.one("Cast", [x], to=TensorProto.INT64)


def attr_ints(node: GraphNode, key: str, default: list[int] | None = None) -> list[int]:
    value = node.attr.get(key)
    if value is None:
        if default is None:
            raise GraphError(f"node {node.name} ({node.op}) has no attribute {key}")
        return default
    try:
        return [int(i) for i in value["list"].get("i", [])]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise GraphError(f"node {node.name}: attribute {key} is not a list of ints") from None


def attr_int(node: GraphNode, key: str, default: int = 0) -> int:
    value = node.attr.get(key)
    try:
        return default if value is None else int(value.get("i", 0))
    except (TypeError, ValueError, AttributeError):
        raise GraphError(f"node {node.name}: attribute {key} is not an int") from None


def attr_bool(node: GraphNode, key: str) -> bool:
    value = node.attr.get(key)
    return bool(value.get("b", False)) if isinstance(value, dict) else False


def attr_str(node: GraphNode, key: str) -> str:
    value = node.attr.get(key)
    try:
        return base64.b64decode(value["s"]).decode() if value else ""
    except (KeyError, TypeError, ValueError):
        raise GraphError(f"node {node.name}: attribute {key} is not a string") from None


def attr_strs(node: GraphNode, key: str) -> list[str]:
    value = node.attr.get(key, {})
    try:
        return [base64.b64decode(s).decode() for s in value.get("list", {}).get("s", [])]
    except (TypeError, ValueError, AttributeError):
        raise GraphError(f"node {node.name}: attribute {key} is not a list of strings") from None


def attr_type(node: GraphNode, key: str) -> int:
    value = node.attr.get(key)
    name = value.get("type") if isinstance(value, dict) else None
    if name not in _TF_TYPES:
        raise GraphError(f"node {node.name} ({node.op}): unsupported {key} {name!r}")
    return _TF_TYPES[name]


def translate(e: Emitter, node: GraphNode) -> None:
    """Append the ONNX nodes computing ``node``'s outputs (named ``node.name:k``)."""
    handler = _HANDLERS.get(node.op)
    if node.op in _ELEMENTWISE:
        e.add(_ELEMENTWISE[node.op], [e.ref(i) for i in node.inputs], [f"{node.name}:0"])
    elif handler is None:
        raise GraphError(f"unsupported op {node.op} at node {node.name}")
    else:
        handler(e, node, [e.ref(i) for i in node.inputs], f"{node.name}:0")


def _conv(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    depthwise = "Depthwise" in node.op
    fused = attr_strs(node, "fused_ops") if node.op.startswith(("_Fused", "Fused")) else []
    allowed = ("BiasAdd", "Relu", "Relu6")
    if fused and (fused[0] != "BiasAdd" or len(fused) > 2 or any(f not in allowed for f in fused)):
        raise GraphError(f"node {node.name}: unsupported fused ops {fused}")
    if node.op.startswith(("_Fused", "Fused")) and not fused:
        raise GraphError(f"node {node.name}: fused convolution without fused ops")
    if attr_str(node, "data_format") not in ("", "NHWC"):
        raise GraphError(f"node {node.name}: only NHWC convolutions are supported")
    strides, dilations = attr_ints(node, "strides", [1] * 4), attr_ints(node, "dilations", [1] * 4)
    if len(strides) != 4 or len(dilations) != 4 or strides[0] != 1 or strides[3] != 1:
        raise GraphError(f"node {node.name}: bad strides {strides} / dilations {dilations}")
    weight = e.const_value(node, 1).astype(np.float32)
    if weight.ndim != 4:
        raise GraphError(f"node {node.name}: filter of rank {weight.ndim}, expected 4")
    kh, kw, cin, cout = weight.shape
    if depthwise:       # TF [kh, kw, in, multiplier] -> ONNX [in * multiplier, 1, kh, kw]
        onnx_w, group = weight.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw), cin
    else:               # TF [kh, kw, in, out] -> ONNX [out, in, kh, kw]
        onnx_w, group = weight.transpose(3, 2, 0, 1), 1
    inputs = [e.one("Transpose", [x[0]], perm=[0, 3, 1, 2]),
              e.init(f"{node.name}/W", np.ascontiguousarray(onnx_w))]
    if fused:
        inputs.append(e.init(f"{node.name}/B", e.const_value(node, 2).astype(np.float32)))
    attrs = _spatial_attrs(node, kh, kw, strides[1:3], dilations[1:3])
    y = e.one("Conv", inputs, group=group, kernel_shape=[kh, kw], **attrs)
    if "Relu" in fused:
        y = e.one("Relu", [y])
    elif "Relu6" in fused:
        y = e.one("Clip", [y, e.init("zero", np.float32(0)), e.init("six", np.float32(6))])
    e.add("Transpose", [y], [out], perm=[0, 2, 3, 1])


def _spatial_attrs(node: GraphNode, kh: int, kw: int, strides: list[int],
                   dilations: list[int]) -> dict:
    padding = attr_str(node, "padding")
    attrs = {"strides": strides, "dilations": dilations}
    if padding == "VALID":
        attrs["pads"] = [0, 0, 0, 0]
    elif padding != "SAME":
        raise GraphError(f"node {node.name}: padding {padding!r} is not SAME or VALID")
    elif strides == [1, 1]:     # TF SAME at stride 1: size-independent, extra at the end
        ph, pw = dilations[0] * (kh - 1), dilations[1] * (kw - 1)
        attrs["pads"] = [ph // 2, pw // 2, ph - ph // 2, pw - pw // 2]
    else:
        attrs["auto_pad"] = "SAME_UPPER"
    return attrs


def _max_pool(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    ksize, strides = attr_ints(node, "ksize"), attr_ints(node, "strides")
    if len(ksize) != 4 or ksize[0] != 1 or ksize[3] != 1 or len(strides) != 4:
        raise GraphError(f"node {node.name}: only spatial NHWC pooling is supported")
    attrs = _spatial_attrs(node, ksize[1], ksize[2], strides[1:3], [1, 1])
    attrs.pop("dilations")
    y = e.one("MaxPool", [e.one("Transpose", [x[0]], perm=[0, 3, 1, 2])],
              kernel_shape=ksize[1:3], **attrs)
    e.add("Transpose", [y], [out], perm=[0, 2, 3, 1])


def _resize_bilinear(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    if attr_bool(node, "align_corners"):
        mode = "align_corners"
    elif attr_bool(node, "half_pixel_centers"):
        mode = "half_pixel"     # TF's clamp of negative source rows equals ONNX's here
    else:
        mode = "asymmetric"
    # ONNX Resize needs every size: batch and channels come from the input's own shape.
    shape = e.one("Shape", [x[0]])
    batch = e.one("Slice", [shape, e.init("s", np.array([0])), e.init("s", np.array([1]))])
    channels = e.one("Slice", [shape, e.init("s", np.array([3])), e.init("s", np.array([4]))])
    sizes = e.one("Concat", [batch, e.as_int64(x[1]), channels], axis=0)
    e.add("Resize", [x[0], "", "", sizes], [out], mode="linear",
          coordinate_transformation_mode=mode)


def _cast(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Cast", [x[0]], [out], to=attr_type(node, "DstT"))


def _to_int32(e: Emitter, op: str, inputs: list[str], out: str, **attrs) -> None:
    e.add("Cast", [e.one(op, inputs, **attrs)], [out], to=TensorProto.INT32)


def _reshape(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Reshape", [x[0], e.as_int64(x[1])], [out])


def _expand_dims(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Unsqueeze", [x[0], e.init("axes", e.const_value(node, 1).astype(np.int64).ravel())],
          [out])


def _squeeze(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    dims = attr_ints(node, "squeeze_dims", [])
    if dims:
        e.add("Squeeze", [x[0], e.init("axes", np.array(dims, np.int64))], [out])
    else:
        e.add("Squeeze", [x[0]], [out])


def _pack(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    axis = e.init("axes", np.array([attr_int(node, "axis")], np.int64))
    e.add("Concat", [e.one("Unsqueeze", [i, axis]) for i in x], [out],
          axis=attr_int(node, "axis"))


def _unpack(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    num, axis = attr_int(node, "num"), attr_int(node, "axis")
    if num < 1:
        raise GraphError(f"node {node.name}: Unpack needs num >= 1")
    parts = e.add("Split", [x[0]], [e.tmp("part") for _ in range(num)], axis=axis)
    axes = e.init("axes", np.array([axis], np.int64))
    for k, part in enumerate(parts):
        e.add("Squeeze", [part, axes], [f"{node.name}:{k}"])


def _split(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    num, axis = attr_int(node, "num_split"), int(e.const_value(node, 0))
    e.add("Split", [x[1]], [f"{node.name}:{k}" for k in range(num)], axis=axis)


def _concat(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Concat", x[:-1], [out], axis=int(e.const_value(node, len(x) - 1)))


def _arg_max(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    # First maximum, as TF and tfjs: select_last_index=0.
    _to_int32(e, "ArgMax", [x[0]], out, axis=int(e.const_value(node, 1)), keepdims=0)


def _gather_nd(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("GatherND", [x[0], e.as_int64(x[1])], [out])


def _top_k(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    values, indices = e.add("TopK", [x[0], e.one("Reshape", [e.as_int64(x[1]),
                                                             e.init("s", np.array([1]))])],
                            [out, e.tmp("indices")], axis=-1, largest=1, sorted=1)
    e.add("Cast", [indices], [f"{node.name}:1"], to=TensorProto.INT32)


def _floor_div(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    if node.attr.get("T", {}).get("type") == "DT_FLOAT":
        e.add("Floor", [e.one("Div", x)], [out])
        return      # integers: exact in double, floored as TF (not truncated as ONNX Div)
    dbl = [e.one("Cast", [i], to=TensorProto.DOUBLE) for i in x]
    e.add("Cast", [e.one("Floor", [e.one("Div", dbl)])], [out], to=attr_type(node, "T"))


def _squared_difference(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    d = e.one("Sub", x)
    e.add("Mul", [d, d], [out])


def _shape(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    _to_int32(e, "Shape", x, out)


def _size(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    _to_int32(e, "Size", x, out)


def _range(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Range", x, [out])


def _tile(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Tile", [x[0], e.as_int64(x[1])], [out])


def _fill(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Expand", [x[1], e.as_int64(x[0])], [out])


def _add_n(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    e.add("Sum", x, [out])


def _reduce(op: str):
    def handler(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
        axes = e.const_value(node, 1).astype(np.int64).ravel().tolist()
        keep = int(attr_bool(node, "keep_dims"))
        if op == "ReduceSum":
            e.add(op, [x[0], e.init("axes", np.array(axes, np.int64))], [out], keepdims=keep)
        else:
            e.add(op, [x[0]], [out], axes=axes, keepdims=keep)
    return handler


def _strided_slice(e: Emitter, node: GraphNode, x: list[str], out: str) -> None:
    begin, end, strides = (e.const_value(node, i).astype(np.int64).ravel() for i in (1, 2, 3))
    masks = {k: attr_int(node, f"{k}_mask") for k in
             ("begin", "end", "ellipsis", "new_axis", "shrink_axis")}
    if masks["ellipsis"] or not len(begin) == len(end) == len(strides):
        raise GraphError(f"node {node.name}: StridedSlice with an ellipsis is not supported")
    starts, ends, steps, axes, shrink, new_axes = [], [], [], [], [], []
    dim = out_dim = 0
    for i, (b, n, s) in enumerate(zip(begin, end, strides)):
        if masks["new_axis"] >> i & 1:
            new_axes.append(out_dim)
            out_dim += 1
            continue
        if s == 0:
            raise GraphError(f"node {node.name}: StridedSlice stride 0")
        if masks["shrink_axis"] >> i & 1:
            b, n, s = b, (b + 1 if b != -1 else _BIG), 1
            shrink.append(dim)
        else:
            if masks["begin"] >> i & 1:
                b = 0 if s > 0 else _BIG
            if masks["end"] >> i & 1:
                n = _BIG if s > 0 else -_BIG
            out_dim += 1
        starts.append(b), ends.append(n), steps.append(s), axes.append(dim)
        dim += 1
    y = x[0]
    if axes:
        y = e.one("Slice", [y] + [e.init("s", np.array(v, np.int64))
                                  for v in (starts, ends, axes, steps)])
    if shrink:
        y = e.one("Squeeze", [y, e.init("axes", np.array(shrink, np.int64))])
    if new_axes:
        y = e.one("Unsqueeze", [y, e.init("axes", np.array(new_axes, np.int64))])
    e.add("Identity", [y], [out])


_HANDLERS = {
    "_FusedConv2D": _conv, "FusedDepthwiseConv2dNative": _conv, "DepthwiseConv2dNative": _conv,
    "Conv2D": _conv, "MaxPool": _max_pool, "ResizeBilinear": _resize_bilinear, "Cast": _cast,
    "Reshape": _reshape, "ExpandDims": _expand_dims, "Squeeze": _squeeze, "Pack": _pack,
    "Unpack": _unpack, "Split": _split, "ConcatV2": _concat, "ArgMax": _arg_max,
    "GatherNd": _gather_nd, "TopKV2": _top_k, "FloorDiv": _floor_div,
    "SquaredDifference": _squared_difference, "Shape": _shape, "Size": _size,
    "Range": _range, "Tile": _tile, "Fill": _fill, "AddN": _add_n,
    "Max": _reduce("ReduceMax"), "Sum": _reduce("ReduceSum"), "StridedSlice": _strided_slice,
}
