"""ONNX Runtime session for a PoseNet model: providers, fallback, threads, named outputs.

Providers are asked for by short name in order of preference (``cuda``, ``tensorrt``, ``cpu``,
...). One the installed onnxruntime lacks, or that fails to initialise (ORT then silently runs
on CPU), is reported in one warning line, never as an error: a robot keeps seeing people on
the CPU when its GPU stack is broken.

Outputs are written through IO binding into buffers reused across frames of the same size.
With ``device_preprocess`` the session runs the model with tfjs preprocessing in front
(:mod:`posenet_ros.model.fused`) and takes raw uint8 frames: on a GPU the resize then happens
on the device and only camera bytes cross the bus.
"""
from __future__ import annotations

import logging
from pathlib import Path
import threading

import numpy as np
import onnxruntime as ort

from posenet_ros import cuda_libs, paths
from posenet_ros.model import io_names
from posenet_ros.model.fused import letterbox_tensors, with_uint8_input
from posenet_ros.preprocess import Letterbox

log = logging.getLogger(__name__)

PROVIDER_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dnnl": "DnnlExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


# The one list of ORT providers that run on a GPU (device_id, device-side preprocessing).
GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")

_warned: set[tuple] = set()          # fallback causes already logged by this process
_warned_lock = threading.Lock()


def warn_once(cause: tuple, message: str, *args) -> bool:
    """Log a provider-fallback warning the first time this process meets ``cause``.

    Models are reloaded on every parameter change (stride, precision, ...): the same
    missing CUDA must not repeat a line per reload. True when it was logged now.
    """
    with _warned_lock:
        if cause in _warned:
            return False
        _warned.add(cause)
    log.warning(message, *args)
    return True


class ModelError(RuntimeError):
    """The model file is missing, unreadable or not a PoseNet model."""


def resolve_providers(requested: tuple[str, ...] | list[str], device_id: int = 0,
                      options: dict | None = None) -> list[tuple[str, dict]]:
    """(ORT provider, options) to try in order, for those this onnxruntime has; CPU always last."""
    available = set(ort.get_available_providers())
    chosen: list[tuple[str, dict]] = []
    missing = []
    for short in requested:
        name = PROVIDER_NAMES.get(short.lower())
        if name is None:
            raise ModelError(
                f"unknown execution provider {short!r}: use {', '.join(PROVIDER_NAMES)}")
        if name not in available:
            missing.append(short)
            continue
        opts = dict((options or {}).get(short.lower(), {}))
        if name in GPU_PROVIDERS:
            opts.setdefault("device_id", device_id)
        if name == "TensorrtExecutionProvider":   # engines take minutes to build: keep them
            cache = str(paths.models_dir() / "tensorrt-cache")
            opts.setdefault("trt_engine_cache_enable", True)
            opts.setdefault("trt_engine_cache_path", cache)
            opts.setdefault("trt_timing_cache_enable", True)
            opts.setdefault("trt_timing_cache_path", cache)
        chosen.append((name, opts))
    if not any(name == "CPUExecutionProvider" for name, _ in chosen):
        chosen.append(("CPUExecutionProvider", {}))
    if missing and missing != ["cpu"]:
        fix = (f": {cuda_libs.GPU_SETUP} installs onnxruntime-gpu"
               if {"cuda", "tensorrt"} & {m.lower() for m in missing} else "")
        warn_once(("missing", tuple(missing), chosen[0][0]),
                  "execution provider(s) %s not in this onnxruntime (%s)%s; running on %s",
                  ", ".join(missing), ort.__version__, fix, chosen[0][0])
    return chosen


def usable_providers(requested: tuple[str, ...] | list[str], device_id: int = 0,
                     options: dict | None = None) -> tuple[list[tuple[str, dict]], dict[str, str]]:
    """:func:`resolve_providers` less the GPU providers that cannot start, and why those cannot.

    Leaving them out before ORT tries them also loads the CUDA wheels' libraries, which
    onnxruntime-gpu cannot find by itself.
    """
    wanted = resolve_providers(requested, device_id, options)
    unusable = cuda_libs.unusable([name for name, _ in wanted])
    return [(name, opts) for name, opts in wanted if name not in unusable], unusable


def session_options(threads: int, busy_wait: bool) -> ort.SessionOptions:
    """ORT options every model session uses: full optimisation, one inter-op thread, quiet log."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Spinning threads are faster (257 input, 2 cores: 2.65 vs 3.17 ms) but burn cores
    # other threads need; in the node they starved DDS (round trip 19.8 vs 9.4 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning",
                                     "1" if busy_wait else "0")
    return options


def open_session(source: str | bytes, path: Path, wanted: list[tuple[str, dict]],
                 unusable: dict[str, str], threads: int,
                 busy_wait: bool) -> ort.InferenceSession:
    """Load ``source`` on ``wanted``; warn once about providers that did not start.

    ``wanted`` and ``unusable`` come from :func:`usable_providers`; ``path`` names the model
    in a :class:`ModelError` when ORT rejects it.
    """
    try:
        session = ort.InferenceSession(
            source, session_options(threads, busy_wait), providers=[p for p, _ in wanted],
            provider_options=[o for _, o in wanted])
    except Exception as exc:   # ORT raises bare RuntimeError/Fail subclasses for bad files
        raise ModelError(f"cannot load {path}: {exc}") from exc
    started = session.get_providers()
    failed = {**unusable, **{name: "ONNX Runtime's log above says why"
                             for name, _ in wanted if name not in started}}
    if failed:
        warn_once(("failed", tuple(failed), started[0]),
                  "%s could not start (%s); running on %s", ", ".join(failed),
                  "; ".join(dict.fromkeys(failed.values())), started[0])
    return session


class PoseNetModel:
    """A loaded model: ``run(batch)`` -> dict of the four outputs, channel-first."""

    def __init__(self, path: str | Path, providers: tuple[str, ...] = ("cuda", "cpu"),
                 device_id: int = 0, threads: int = 0, output_stride: int | None = None,
                 provider_options: dict | None = None, device_preprocess: bool | None = False,
                 busy_wait: bool = True):
        """Load ``path`` on the first usable provider.

        ``device_preprocess``: True puts tfjs preprocessing into the model (uint8 frames in);
        None decides by provider, True when a GPU provider will run the model. ``busy_wait``:
        threads spin for work instead of sleeping (see ``EstimatorConfig.busy_wait``).
        """
        self.path = Path(path)
        wanted, unusable = usable_providers(providers, device_id, provider_options)
        if device_preprocess is None:
            device_preprocess = wanted[0][0] in GPU_PROVIDERS
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} does not exist")
        source: str | bytes = str(self.path)
        if self.path.suffix == ".json":       # a TF.js graph model: convert in memory
            from posenet_ros.model.convert import to_onnx
            from posenet_ros.model.tfjs_graph import load
            source = to_onnx(load(self.path), output_stride or 16,
                             source=self.path.name).SerializeToString()
        if device_preprocess:
            import onnx
            proto = (onnx.load_from_string(source) if isinstance(source, bytes)
                     else onnx.load(source))
            try:
                source = with_uint8_input(proto).SerializeToString()
            except ValueError as exc:
                raise ModelError(
                    f"{self.path.name}: cannot preprocess on the device: {exc}") from exc
        self.device_preprocess = device_preprocess
        self.session = open_session(source, self.path, wanted, unusable, threads, busy_wait)
        self.providers = self.session.get_providers()
        self._input = self.session.get_inputs()[0]
        self._channels_last = not device_preprocess and self._input.shape[-1] == 3   # a NHWC graph
        self._outputs = self._match_outputs()
        meta = self.session.get_modelmeta().custom_metadata_map
        self.output_stride = int(meta.get("output_stride", output_stride or 16))
        self._apply_sigmoid = meta.get("architecture") is None   # foreign graphs emit raw logits
        self._binding = self.session.io_binding()
        self._outputs_by_shape: dict[tuple[int, ...], dict[str, np.ndarray]] = {}

    @property
    def name(self) -> str:
        return self.path.name

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """``batch``: float32 [N, 3, H, W] in [-1, 1].

        Returns arrays [N, C, h, w] by output name.
        """
        feed = batch.transpose(0, 2, 3, 1) if self._channels_last else batch
        n, _, h, w = batch.shape
        return self._run({self._input.name: np.ascontiguousarray(feed)}, n, h, w)

    def run_frames(self, frames: np.ndarray, box: Letterbox) -> dict[str, np.ndarray]:
        """``frames``: uint8 [N, H, W, 3] RGB, all laid out as ``box`` (device_preprocess only)."""
        feeds = {"frames": np.ascontiguousarray(frames), **letterbox_tensors(box, frames.shape[0])}
        return self._run(feeds, frames.shape[0], box.input_height, box.input_width)

    def _run(self, feeds: dict[str, np.ndarray], n: int, h: int, w: int) -> dict[str, np.ndarray]:
        """Run with IO binding into output buffers reused for every frame of this size.

        The arrays returned are overwritten by the next call of the same size: decode them first.
        """
        grid = ((h - 1) // self.output_stride + 1, (w - 1) // self.output_stride + 1)
        outputs = self._outputs_by_shape.get((n, h, w))
        if outputs is None:
            if len(self._outputs_by_shape) > 8:      # many sizes (mixed cameras): start over
                self._outputs_by_shape.clear()
            outputs = {
                ours: np.empty(
                    _output_shape(n, grid, io_names.CHANNELS[ours], self._channels_last),
                    np.float32)
                for ours in self._outputs}
            self._outputs_by_shape[(n, h, w)] = outputs
        binding = self._binding
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        for ours, theirs in self._outputs.items():
            buf = outputs[ours]
            binding.bind_output(theirs, "cpu", 0, np.float32, list(buf.shape), buf.ctypes.data)
        self.session.run_with_iobinding(binding)
        out = {k: (v.transpose(0, 3, 1, 2) if self._channels_last else v)
               for k, v in outputs.items()}
        if self._apply_sigmoid:
            out[io_names.HEATMAP] = 1.0 / (1.0 + np.exp(-out[io_names.HEATMAP]))
        return out

    def _match_outputs(self) -> dict[str, str]:
        """Our output name -> the model's, by exact name or by the TF.js head names."""
        theirs = [o.name for o in self.session.get_outputs()]
        found = {}
        for ours in io_names.OUTPUTS:
            head = next(h for h, o in io_names.HEAD_OUTPUTS.items() if o == ours)
            match = ([n for n in theirs if n == ours]
                     or [n for n in theirs if head.removesuffix("_2") in n])
            if not match:
                raise ModelError(f"{self.path.name}: no output for {ours} (outputs: {theirs})")
            found[ours] = match[0]
        return found


def _output_shape(n: int, grid: tuple[int, int], channels: int,
                  channels_last: bool) -> tuple[int, ...]:
    return (n, *grid, channels) if channels_last else (n, channels, *grid)
