"""int8 PoseNet: static QDQ quantisation calibrated on real frames.

ONNX Runtime fuses QuantizeLinear/DequantizeLinear pairs around convolutions into integer
kernels (VNNI on CPUs that have it). Weights are quantised per output channel, activations per
tensor from calibration statistics of real pedestrian frames. This module only writes the
file: whether it is accurate enough is decided by the int8 guard (``posenet_ros.bench``),
which runs the estimator and so lives above model/.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from posenet_ros.model import io_names
from posenet_ros.preprocess import letterbox, Preprocessor

# Everything that decides the int8 file besides the fp32 model and the frames; the guard's
# refusal record is keyed by it.
SETTINGS = {"format": "QDQ", "per_channel": True,
            "activation_type": "QUInt8", "weight_type": "QInt8",   # u8s8: VNNI's layout
            "calibrate_method": "Percentile", "percentile": 99.99, "resolution": 257,
            "heads": "fp32"}      # the 1x1 heads are <1% of the work; offsets keep precision
CALIBRATION_RESOLUTION: int = SETTINGS["resolution"]


class _Frames:
    """onnxruntime CalibrationDataReader over preprocessed frames."""

    def __init__(self, frames: list[np.ndarray], resolution: int) -> None:
        prep = Preprocessor()
        self._inputs = []
        for frame in frames:
            box = letterbox(frame.shape[1], frame.shape[0], resolution, resolution)
            self._inputs.append(prep(frame, box).copy()[None])
        self._it = iter(self._inputs)

    def get_next(self) -> dict | None:
        batch = next(self._it, None)
        return None if batch is None else {io_names.INPUT: batch}

    def rewind(self) -> None:
        self._it = iter(self._inputs)


def quantize(fp32_path: str | Path, out_path: str | Path, frames: list[np.ndarray]) -> None:
    """Write a QDQ int8 copy of ``fp32_path`` calibrated on ``frames`` (RGB), tagged int8."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    heads = [n.name for n in onnx.load(str(fp32_path)).graph.node
             if n.op_type == "Conv" and not n.name.startswith("block")]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR   # its advice to pre-process is for other nets
    try:
        quantize_static(
            str(fp32_path), str(out_path), _Frames(frames, CALIBRATION_RESOLUTION),
            quant_format=QuantFormat[SETTINGS["format"]], per_channel=SETTINGS["per_channel"],
            activation_type=QuantType[SETTINGS["activation_type"]],
            weight_type=QuantType[SETTINGS["weight_type"]],
            calibrate_method=CalibrationMethod[SETTINGS["calibrate_method"]],
            extra_options={"CalibPercentile": SETTINGS["percentile"]},
            nodes_to_exclude=heads)
    finally:
        root.level = level
    add_metadata(out_path, {"precision": "int8"})


def add_metadata(path: str | Path, props: dict[str, str]) -> None:
    """Add string metadata properties to an ONNX file in place."""
    import onnx

    model = onnx.load(str(path))
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
