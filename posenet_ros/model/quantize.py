"""int8 PoseNet: static QDQ quantisation calibrated on real frames, with an accuracy guard.

ONNX Runtime fuses QuantizeLinear/DequantizeLinear pairs around convolutions into integer
kernels (VNNI on CPUs that have it). Weights are quantised per output channel, activations per
tensor from calibration statistics of real pedestrian frames. The guard compares the int8
model with fp32 on frames not used for calibration, so a bad quantisation is caught before use.
"""
from __future__ import annotations

from dataclasses import dataclass
import logging
from pathlib import Path

import numpy as np

from posenet_ros.config import EstimatorConfig
from posenet_ros.model import io_names
from posenet_ros.preprocess import letterbox, Preprocessor

log = logging.getLogger(__name__)

CALIBRATION_RESOLUTION = 257
# Below these the int8 model is refused rather than installed (see Guard).
MIN_WITHIN_3PX = 0.5
MIN_POSE_COUNT_AGREEMENT = 0.5


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


class QuantizationRefused(RuntimeError):
    """The int8 model disagrees too much with fp32 on held-out frames; it was not installed."""


def quantize(fp32_path: str | Path, out_path: str | Path, frames: list[np.ndarray]) -> Guard:
    """Write a QDQ int8 copy of ``fp32_path``.

    It is calibrated on even-indexed ``frames`` (RGB) and checked against fp32 on the odd ones;
    the guard's figures are stored in its metadata.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    calibration, held_out = frames[0::2], frames[1::2]
    heads = [n.name for n in onnx.load(str(fp32_path)).graph.node
             if n.op_type == "Conv" and not n.name.startswith("block")]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.stem + ".tmp.onnx")
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR   # its advice to pre-process is for other nets
    try:
        quantize_static(
            str(fp32_path), str(tmp), _Frames(calibration, CALIBRATION_RESOLUTION),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,   # u8s8: VNNI's layout
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": 99.99},
            # The 1x1 heads are <1% of the work; offsets keep fp32 precision.
            nodes_to_exclude=heads)
    finally:
        root.level = level
    guard = accuracy_guard(fp32_path, tmp, held_out)
    log.info("%s", guard)
    if guard.within_3px < MIN_WITHIN_3PX or guard.pose_count_agreement < MIN_POSE_COUNT_AGREEMENT:
        tmp.unlink()
        raise QuantizationRefused(f"int8 model refused: {guard}")
    model = onnx.load(str(tmp))
    for key, value in (("precision", "int8"), ("int8_guard", str(guard))):
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(tmp))
    tmp.replace(out_path)
    log.info("wrote %s (int8, calibrated on %d frames)", out_path, len(calibration))
    return guard


@dataclass
class Guard:
    """How int8 poses compare with fp32 on held-out frames."""

    frames: int
    keypoints: int              # keypoints with score >= 0.5 in fp32
    within_3px: float           # share of those the int8 model places within 3 px
    pose_count_agreement: float  # share of frames with the same number of poses
    max_pose_score_diff: float

    def __str__(self) -> str:
        return (f"int8 vs fp32 on {self.frames} held-out frames: {self.within_3px:.1%} of "
                f"{self.keypoints} confident keypoints within 3 px, pose count equal on "
                f"{self.pose_count_agreement:.0%} of frames, "
                f"max pose score diff {self.max_pose_score_diff:.3f}")


def accuracy_guard(fp32_model: str | Path, int8_model: str | Path, frames: list[np.ndarray],
                   resolution: int = 257) -> Guard:
    """Compare both models' multi-pose output, pairing each fp32 pose with the nearest int8 one."""
    from posenet_ros.estimator import PoseEstimator

    import onnx
    meta = {p.key: p.value for p in onnx.load(str(fp32_model)).metadata_props}
    base = EstimatorConfig(providers=("cpu",), input_resolution=resolution,
                           output_stride=int(meta.get("output_stride", 16)))
    ref = PoseEstimator(base.replace(model=str(fp32_model)))
    q = PoseEstimator(base.replace(model=str(int8_model)))
    confident = close = same_count = 0
    score_diff = 0.0
    for frame in frames:
        a, b = ref.estimate(frame), q.estimate(frame)
        same_count += len(a) == len(b)
        for pa, pb in _pairs(a, b):
            mask = pa.keypoint_scores >= 0.5
            dist = np.linalg.norm(pa.positions[mask] - pb.positions[mask], axis=1)
            confident += int(mask.sum())
            close += int((dist <= 3.0).sum())
            score_diff = max(score_diff, abs(pa.score - pb.score))
    return Guard(len(frames), confident, close / max(confident, 1),
                 same_count / max(len(frames), 1), score_diff)


def _pairs(a: list, b: list) -> list[tuple]:
    """Greedy nearest pairing by mean keypoint distance (poses may swap rank between models)."""
    pairs, free = [], list(b)
    for pose in a:
        if not free:
            break
        best = min(free, key=lambda other: float(
            np.mean(np.linalg.norm(pose.positions - other.positions, axis=1))))
        free.remove(best)
        pairs.append((pose, best))
    return pairs
