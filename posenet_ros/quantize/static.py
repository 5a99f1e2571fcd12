"""int8 models: static QDQ quantisation calibrated on the network inputs of real frames.

ONNX Runtime fuses QuantizeLinear/DequantizeLinear pairs around convolutions into integer
kernels (VNNI on CPUs that have it). Weights are quantised per output channel, activations per
tensor from calibration statistics of real pedestrian frames; the heads (the convolutions no
other convolution follows) stay fp32. This module only writes the file, from inputs already
prepared as the network sees them: which inputs those are (MoveNet's come from its own crops
along a video) and whether the result is accurate enough are decided above the engine
(``posenet_ros.quantize.build``, ``int8_guard``), since both run the estimator.
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np

from posenet_ros.convert.metadata import add_metadata

log = logging.getLogger(__name__)

# What decides an int8 file besides the fp32 model and the frames; its key (an installed
# model's metadata, a refusal record) hashes it, so a change here recalibrates.
_COMMON = {"format": "QDQ", "per_channel": True,
           "activation_type": "QUInt8", "weight_type": "QInt8",     # u8s8: VNNI's layout
           "calibrate_method": "Percentile", "percentile": 99.99,
           "heads": "fp32"}      # the 1x1 heads are <1% of the work; offsets keep precision
# PoseNet: every op type ONNX Runtime quantises, calibrated at 257x257.
SETTINGS = {**_COMMON, "resolution": 257}
# MoveNet: convolutions only, at the model's own input; the graph's decoding after the heads
# (ArgMax, GatherND, the arithmetic on coordinates) stays fp32.
MOVENET_SETTINGS = {**_COMMON, "op_types": ["Conv"]}


class _Feeds:
    """onnxruntime CalibrationDataReader over prepared network inputs (batch 1 each)."""

    def __init__(self, name: str, feeds: list[np.ndarray]) -> None:
        self._name, self._feeds = name, feeds
        self._it = iter(self._feeds)

    def get_next(self) -> dict | None:
        batch = next(self._it, None)
        return None if batch is None else {self._name: batch}

    def rewind(self) -> None:
        self._it = iter(self._feeds)


def head_convs(graph) -> list[str]:
    """Return the names of the Conv nodes that no other Conv follows: the model's heads.

    PoseNet's four (heatmap, offsets, two displacements), Lightning's and Thunder's four
    (keypoint heatmap, regression, centre, offsets), MultiPose's six (and its two box heads).
    ONNX lists nodes in topological order, so walking it backwards sees consumers first.
    """
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            consumers.setdefault(name, []).append(i)
    conv_later = [False] * len(graph.node)
    for i in reversed(range(len(graph.node))):
        conv_later[i] = any(graph.node[j].op_type == "Conv" or conv_later[j]
                            for out in graph.node[i].output for j in consumers.get(out, ()))
    return [node.name for node, later in zip(graph.node, conv_later)
            if node.op_type == "Conv" and not later]


def quantize(fp32_path: str | Path, out_path: str | Path, feeds: list[np.ndarray],
             settings: dict = SETTINGS) -> None:
    """Write a QDQ int8 copy of ``fp32_path`` calibrated on network inputs, tagged int8.

    ``feeds`` are inputs of the model's one image input, batch 1 each, as it would be fed
    (:func:`posenet_ros.families.calibration_feeds`); ``settings`` is SETTINGS or
    MOVENET_SETTINGS.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    graph = onnx.load(str(fp32_path), load_external_data=False).graph
    initialisers = {i.name for i in graph.initializer}
    name = next(i.name for i in graph.input if i.name not in initialisers)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR   # its advice to pre-process is for other nets
    progress = io.StringIO()        # calibrate prints its steps to stdout: kept for debug only
    try:
        with contextlib.redirect_stdout(progress):
            quantize_static(
                str(fp32_path), str(out_path), _Feeds(name, feeds),
                quant_format=QuantFormat[settings["format"]], per_channel=settings["per_channel"],
                activation_type=QuantType[settings["activation_type"]],
                weight_type=QuantType[settings["weight_type"]],
                calibrate_method=CalibrationMethod[settings["calibrate_method"]],
                extra_options={"CalibPercentile": settings["percentile"]},
                op_types_to_quantize=settings.get("op_types"),
                nodes_to_exclude=head_convs(graph))
    finally:
        root.level = level
        log.debug("onnxruntime calibration of %s:\n%s", fp32_path, progress.getvalue())
    add_metadata(out_path, {"precision": "int8"})
