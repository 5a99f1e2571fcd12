"""ONNX Runtime session for a PoseNet model: providers, fallback, threads, named outputs.

Providers are asked for by short name in order of preference (``cuda``, ``tensorrt``, ``cpu``,
...). One the installed onnxruntime lacks, or that fails to initialise (ORT then silently runs
on CPU), is reported in one warning line, never as an error: a robot keeps seeing people on
the CPU when its GPU stack is broken.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from posenet_ros.model import io_names

log = logging.getLogger(__name__)

PROVIDER_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dnnl": "DnnlExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


class ModelError(RuntimeError):
    """The model file is missing, unreadable or not a PoseNet model."""


def resolve_providers(requested: tuple[str, ...] | list[str], device_id: int = 0,
                      options: dict | None = None) -> list[tuple[str, dict]]:
    """(ORT provider, options) to try, in order, for those this onnxruntime has; CPU always last."""
    available = set(ort.get_available_providers())
    chosen: list[tuple[str, dict]] = []
    missing = []
    for short in requested:
        name = PROVIDER_NAMES.get(short.lower())
        if name is None:
            raise ModelError(f"unknown execution provider {short!r}: use {', '.join(PROVIDER_NAMES)}")
        if name not in available:
            missing.append(short)
            continue
        opts = dict((options or {}).get(short.lower(), {}))
        if name in ("CUDAExecutionProvider", "TensorrtExecutionProvider"):
            opts.setdefault("device_id", device_id)
        chosen.append((name, opts))
    if not any(name == "CPUExecutionProvider" for name, _ in chosen):
        chosen.append(("CPUExecutionProvider", {}))
    if missing and missing != ["cpu"]:
        log.warning("execution provider(s) %s not in this onnxruntime (%s); running on %s",
                    ", ".join(missing), ort.__version__, chosen[0][0])
    return chosen


class PoseNetModel:
    """A loaded model: ``run(batch)`` -> dict of the four outputs, channel-first."""

    def __init__(self, path: str | Path, providers: tuple[str, ...] = ("cuda", "cpu"), device_id: int = 0,
                 threads: int = 0, output_stride: int | None = None, provider_options: dict | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} does not exist")
        source: str | bytes = str(self.path)
        if self.path.suffix == ".json":       # a TF.js graph model: convert in memory
            from posenet_ros.model.convert import to_onnx
            from posenet_ros.model.tfjs_graph import load
            source = to_onnx(load(self.path), output_stride or 16, source=self.path.name).SerializeToString()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        wanted = resolve_providers(providers, device_id, provider_options)
        try:
            self.session = ort.InferenceSession(
                source, options, providers=[p for p, _ in wanted], provider_options=[o for _, o in wanted])
        except Exception as exc:   # ORT raises bare RuntimeError/Fail subclasses for bad files
            raise ModelError(f"cannot load {self.path}: {exc}") from exc
        self.providers = self.session.get_providers()
        if self.providers[0] != wanted[0][0]:
            log.warning("%s failed to initialise; running on %s", wanted[0][0], self.providers[0])
        self._input = self.session.get_inputs()[0]
        self._channels_last = self._input.shape[-1] == 3
        self._outputs = self._match_outputs()
        meta = self.session.get_modelmeta().custom_metadata_map
        self.output_stride = int(meta.get("output_stride", output_stride or 16))
        self._apply_sigmoid = meta.get("architecture") is None   # foreign graphs emit raw logits

    @property
    def name(self) -> str:
        return self.path.name

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """``batch``: float32 [N, 3, H, W] in [-1, 1]. Returns arrays [N, C, h, w] by output name."""
        feed = batch.transpose(0, 2, 3, 1) if self._channels_last else batch
        names = list(self._outputs.values())
        values = self.session.run(names, {self._input.name: np.ascontiguousarray(feed)})
        out = {}
        for (ours, _), value in zip(self._outputs.items(), values):
            if value.shape[1] != io_names.CHANNELS[ours]:       # channels-last model
                value = value.transpose(0, 3, 1, 2)
            out[ours] = value
        if self._apply_sigmoid:
            out[io_names.HEATMAP] = 1.0 / (1.0 + np.exp(-out[io_names.HEATMAP]))
        return out

    def _match_outputs(self) -> dict[str, str]:
        """Our output name -> the model's, by exact name or by the TF.js head names."""
        theirs = [o.name for o in self.session.get_outputs()]
        found = {}
        for ours in io_names.OUTPUTS:
            head = next(h for h, o in io_names.HEAD_OUTPUTS.items() if o == ours)
            match = [n for n in theirs if n == ours] or [n for n in theirs if head.removesuffix("_2") in n]
            if not match:
                raise ModelError(f"{self.path.name}: no output for {ours} (outputs: {theirs})")
            found[ours] = match[0]
        return found
