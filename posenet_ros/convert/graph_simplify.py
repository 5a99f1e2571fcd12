"""Exact simplifications of a translated TF graph, for ONNX Runtime's CPU kernels.

The op-by-op translation (:mod:`graph_convert`) keeps every TF node, including the no-ops
TF's export left around the input: a one-way Split, Squeeze/Unsqueeze round trips, ``x - 0``
and a per-channel ``[1, 1, 1, 3]`` scale whose three values are equal. ONNX Runtime runs each
of them as a kernel over the whole image, and broadcasting over a trailing axis of 3 is its
slow path (profiled on Thunder: 1.5 ms each for ``- 0`` and ``* 1/127.5``, more than most
convolutions). Only rewrites that give bit-identical results are made:

- a binary op with a constant whose values are all equal takes that value as a scalar, when
  the other operand's inferred shape already covers the constant's (same output shape);
- ``x + 0``, ``x - 0``, ``x * 1`` and ``x / 1`` with such a constant become ``x``;
- a Split into one part, and Squeeze/Unsqueeze over the same axes that undo each other,
  become ``x``;
- then every Identity that is not a graph output is bypassed.

The convolutions are left to ONNX Runtime, which fuses bias, Relu/Clip and residual Add into
its NCHWc kernels and cancels the Transpose pairs :mod:`tf_ops` wraps around each one.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

_NEUTRAL = {"Add": 0.0, "Sub": 0.0, "Mul": 1.0, "Div": 1.0}
_BINARY = ("Add", "Sub", "Mul", "Div")


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return ``model`` with the rewrites above applied (in place, also returned)."""
    graph = model.graph
    shapes = _inferred_shapes(model)
    inits = {i.name: i for i in graph.initializer}
    alias: dict[str, str] = {}
    for node in graph.node:
        if node.op_type in _BINARY:
            _scalarise(node, inits, shapes, graph, alias)
        elif node.op_type == "Split" and len(node.output) == 1:
            alias[node.output[0]] = node.input[0]
    producers = {o: n for n in graph.node for o in n.output}
    for node in graph.node:
        if node.op_type in ("Squeeze", "Unsqueeze") and len(node.input) == 2:
            inner = producers.get(node.input[0])
            undo = "Unsqueeze" if node.op_type == "Squeeze" else "Squeeze"
            if (inner is not None and inner.op_type == undo and len(inner.input) == 2
                    and _same_const(inits, inner.input[1], node.input[1])):
                alias[node.output[0]] = inner.input[0]
        elif node.op_type == "Identity":
            alias[node.output[0]] = node.input[0]
    _bypass(graph, alias)
    return model


def _inferred_shapes(model: onnx.ModelProto) -> dict[str, tuple]:
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for info in list(inferred.graph.value_info) + list(inferred.graph.input):
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                  for d in dims)
    return shapes


def _scalarise(node, inits, shapes, graph, alias) -> None:
    a, b = node.input
    if b not in inits:          # only the right operand: Sub/Div are not commutative
        if node.op_type in ("Add", "Mul") and a in inits:
            a, b = b, a
        else:
            return
    value = numpy_helper.to_array(inits[b])
    if value.size == 0 or value.dtype.kind != "f" or not np.all(value == value.flat[0]):
        return
    other = shapes.get(a)
    if other is None or not _covers(other, value.shape):
        return
    scalar = value.flat[0]
    if scalar == _NEUTRAL[node.op_type]:
        alias[node.output[0]] = a
        return
    name = f"{b}/scalar"
    if name not in inits:
        inits[name] = numpy_helper.from_array(np.asarray(scalar, value.dtype), name)
        graph.initializer.append(inits[name])
    node.input[:] = [a, name]


def _covers(shape: tuple, const_shape: tuple) -> bool:
    """Whether broadcasting ``const_shape`` onto ``shape`` leaves ``shape`` unchanged."""
    if len(const_shape) > len(shape):
        return False
    tail = shape[len(shape) - len(const_shape):] if const_shape else ()
    return all(c == 1 or c == s for c, s in zip(const_shape, tail))      # s None: unknown


def _same_const(inits, x: str, y: str) -> bool:
    return (x in inits and y in inits and np.array_equal(numpy_helper.to_array(inits[x]),
                                                         numpy_helper.to_array(inits[y])))


def _bypass(graph, alias: dict[str, str]) -> None:
    """Point consumers of each aliased tensor at its source; drop the dead nodes."""
    outputs = {o.name for o in graph.output}

    def source(name: str) -> str:
        while name in alias and name not in outputs:
            name = alias[name]
        return name

    keep = []
    for node in graph.node:
        node.input[:] = [source(i) if i else i for i in node.input]
        if any(o in alias and o not in outputs for o in node.output) and len(node.output) == 1:
            continue
        keep.append(node)
    used = {i for n in keep for i in n.input} | outputs
    live = [n for n in keep if any(o in used for o in n.output)]
    while len(live) != len(keep):           # remove producers nothing reads any more
        keep = live
        used = {i for n in keep for i in n.input} | outputs
        live = [n for n in keep if any(o in used for o in n.output)]
    del graph.node[:]
    graph.node.extend(keep)
    read = {i for n in keep for i in n.input}
    kept = [i for i in graph.initializer if i.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
