"""Read any TF.js graph model (model.json + weight shards) into nodes and constant arrays.

Every way the file can be wrong (not JSON, missing keys, wrong types, unknown dtypes, missing
or short weight shards) becomes a :class:`GraphError` naming the file and the problem. Files
are read only once :mod:`posenet_ros.core.model_files` has found them regular and of a
plausible size, and shards only once their sizes add up to what the manifest describes (a
FIFO, ``/dev/zero`` or a huge file is refused without reading a byte). Weights
quantised in the manifest (``float16``, or affine ``uint8``/``uint16``) are dequantised to
float32 exactly as tfjs-converter does, so the converted network computes with the same values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import json
import math
from pathlib import Path

import numpy as np

from posenet_ros.convert.graph_error import GraphError
from posenet_ros.core.model_files import (
    checked_size, MAX_MODEL_BYTES, MAX_MODEL_JSON_BYTES, ModelFileError)

# TF.js manifest dtype -> (numpy dtype of the stored bytes).
_STORED = {"float32": "<f4", "int32": "<i4", "bool": "u1"}
_QUANTISED = {"float16": "<f2", "uint8": "u1", "uint16": "<u2"}


@dataclass(frozen=True)
class GraphNode:
    name: str
    op: str
    inputs: tuple[str, ...]     # "name" or "name:k" (output k); control inputs dropped
    attr: dict


@dataclass
class TfjsGraph:
    path: Path
    nodes: list[GraphNode]
    consts: dict[str, np.ndarray]
    signature: dict = field(default_factory=dict)
    weight_files: tuple[Path, ...] = ()


def read(model_json: str | Path) -> TfjsGraph:
    """Parse ``model_json`` and its weight shards; raise :class:`GraphError` on any defect."""
    path = Path(model_json)
    _checked(path, "model.json", MAX_MODEL_JSON_BYTES)
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"{path}: cannot be read ({exc})") from None
    except ValueError as exc:
        raise GraphError(f"{path}: not JSON ({exc})") from None
    topology = _field(path, spec, "modelTopology", dict, "the file")
    raw_nodes = _field(path, topology, "node", list, "modelTopology")
    manifest = _field(path, spec, "weightsManifest", list, "the file")
    consts, files = _read_weights(path, manifest)
    nodes = [_node(path, i, raw) for i, raw in enumerate(raw_nodes)]
    signature = spec.get("signature") if isinstance(spec.get("signature"), dict) else {}
    return TfjsGraph(path, nodes, consts, signature, files)


def weight_files(model_json: str | Path) -> tuple[Path, ...]:
    """Return the shard paths the manifest names (for hashing the model's source).

    Each is a regular file of a plausible size (else :class:`GraphError`), safe to read.
    """
    path = Path(model_json)
    _checked(path, "model.json", MAX_MODEL_JSON_BYTES)
    try:
        manifest = json.loads(path.read_text())["weightsManifest"]
        shards = tuple(_shard_path(path, g, p) for g, group in enumerate(manifest)
                       for p in group["paths"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraphError(f"{path}: no readable weightsManifest ({exc!r})") from None
    for shard in shards:
        _checked(shard, "weight shard", model=path)
    return shards


def _checked(file: Path, what: str, limit: int = MAX_MODEL_BYTES,
             model: Path | None = None) -> int:
    try:
        return checked_size(file, what, limit)
    except ModelFileError as exc:
        raise GraphError(f"{model}: {exc}" if model else str(exc)) from None


def _shard_path(path: Path, group: int, shard) -> Path:
    if not isinstance(shard, str) or Path(shard).is_absolute() or ".." in Path(shard).parts:
        raise GraphError(f"{path}: weightsManifest[{group}] names a bad shard {shard!r:.200}")
    return path.parent / shard


def _field(path: Path, obj, key: str, kind: type, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise GraphError(f"{path}: {where} has no {key!r}")
    if not isinstance(obj[key], kind):
        raise GraphError(f"{path}: {key!r} is a {type(obj[key]).__name__}, "
                         f"expected a {kind.__name__}")
    return obj[key]


def _node(path: Path, index: int, raw) -> GraphNode:
    where = f"node #{index}"
    if not isinstance(raw, dict):
        raise GraphError(f"{path}: {where} is not an object")
    name, op = raw.get("name"), raw.get("op")
    if not isinstance(name, str) or not name:
        raise GraphError(f"{path}: {where} has no name")
    if not isinstance(op, str) or not op:
        raise GraphError(f"{path}: node {name!r} has no op")
    inputs = raw.get("input", [])
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise GraphError(f"{path}: node {name!r}: 'input' is not a list of names")
    attr = raw.get("attr", {})
    if not isinstance(attr, dict):
        raise GraphError(f"{path}: node {name!r}: 'attr' is not an object")
    return GraphNode(name, op, tuple(i for i in inputs if not i.startswith("^")), attr)


def _read_weights(path: Path, manifest: list) -> tuple[dict[str, np.ndarray], tuple[Path, ...]]:
    consts: dict[str, np.ndarray] = {}
    files: list[Path] = []
    total = 0
    for g, group in enumerate(manifest):
        paths = _field(path, group, "paths", list, f"weightsManifest[{g}]")
        specs = _field(path, group, "weights", list, f"weightsManifest[{g}]")
        layouts = [_layout(path, w) for w in specs]
        described = sum(layout[-1] for layout in layouts)
        shards = [_shard_path(path, g, shard) for shard in paths]
        sizes = [_checked(shard, "weight shard", model=path) for shard in shards]
        total += sum(sizes)
        if total > MAX_MODEL_BYTES:
            raise GraphError(f"{path}: weight shards hold more than {MAX_MODEL_BYTES // 2**20} "
                             "MB: not a pose model")
        if sum(sizes) != described:
            raise GraphError(f"{path}: weight shards {[s.name for s in shards]} hold "
                             f"{sum(sizes)} bytes, the manifest describes {described}")
        try:
            blob = b"".join(shard.read_bytes() for shard in shards)
        except OSError as exc:
            raise GraphError(f"{path}: a weight shard cannot be read ({exc})") from None
        if len(blob) != described:
            raise GraphError(f"{path}: weight shards changed while being read")
        files.extend(shards)
        offset = 0
        for layout in layouts:
            consts[layout[0]] = _weight(path, layout, blob, offset)
            offset += layout[-1]
    return consts, tuple(files)


def _layout(path: Path, w) -> tuple[str, list, str, str, dict | None, int]:
    """(name, shape, dtype, stored numpy dtype, quantization, bytes) of a manifest entry."""
    if not isinstance(w, dict) or not isinstance(w.get("name"), str):
        raise GraphError(f"{path}: a weight entry has no name")
    name, shape, dtype = w["name"], w.get("shape"), w.get("dtype")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise GraphError(f"{path}: weight {name}: bad shape {shape!r:.200}")
    if dtype not in _STORED:
        raise GraphError(f"{path}: weight {name}: unsupported dtype {dtype!r:.80}")
    quant = w.get("quantization")
    if quant is None:
        stored = _STORED[dtype]
    elif isinstance(quant, dict) and quant.get("dtype") in _QUANTISED and dtype == "float32":
        stored = _QUANTISED[quant["dtype"]]
    else:
        raise GraphError(f"{path}: weight {name}: unsupported quantization {quant!r:.200}")
    return name, shape, dtype, stored, quant, math.prod(shape) * np.dtype(stored).itemsize


def _weight(path: Path, layout: tuple, blob: bytes, offset: int) -> np.ndarray:
    name, shape, dtype, stored, quant, size = layout
    data = np.frombuffer(blob, stored, size // np.dtype(stored).itemsize, offset).reshape(shape)
    if quant is None:
        return data.astype(np.bool_ if dtype == "bool" else data.dtype.newbyteorder("="))
    if quant["dtype"] == "float16":
        return data.astype(np.float32)
    scale, minimum = quant.get("scale"), quant.get("min")
    if not isinstance(scale, (int, float)) or not isinstance(minimum, (int, float)):
        raise GraphError(f"{path}: weight {name}: affine quantization without scale/min")
    # tfjs computes v * scale + min in JavaScript doubles, then stores float32.
    return (data.astype(np.float64) * scale + minimum).astype(np.float32)
