"""Arithmetic work of a model per frame, and this CPU's nominal peak, for GFLOP/s figures."""
from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx import shape_inference


def conv_flops(model_path: str | Path, height: int, width: int) -> int:
    """Floating-point operations (2 per multiply-add) of all Conv nodes for one HxW frame."""
    model = onnx.load(str(model_path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, height, width)):
        dim.ClearField("dim_param")
        dim.dim_value = value
    model = shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(model.graph.value_info) + list(model.graph.output)}
    weights = {w.name: list(w.dims) for w in model.graph.initializer}
    total = 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        cout, cin_per_group, kh, kw = weights[node.input[1]]
        _, _, hout, wout = shapes[node.output[0]]
        total += 2 * cout * cin_per_group * kh * kw * hout * wout
    return total


def cpu_peak_gflops() -> tuple[float, str]:
    """Nominal fp32 peak: cores x clock x FLOP/cycle from the widest FMA the CPU reports.

    A nominal figure: AMD Zen 4 executes AVX-512 as two 256-bit halves, so its real peak is
    half of what the flags suggest; the string says what was assumed.
    """
    cores = os.cpu_count() or 1
    mhz, flags = 0.0, set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("cpu MHz") and not mhz:
                    mhz = float(line.split(":")[1])
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":")[1].split())
    except OSError:
        return 0.0, "unknown CPU"
    per_cycle = 64 if "avx512f" in flags else 32 if "avx2" in flags else 8
    peak = cores * mhz / 1000 * per_cycle
    return peak, f"{cores} cores x {mhz / 1000:.2f} GHz x {per_cycle} FLOP/cycle (2 FMA units)"
