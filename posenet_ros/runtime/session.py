"""ONNX Runtime sessions for every family: providers by short name, fallback, threads.

Providers are asked for by short name in order of preference (``cuda``, ``tensorrt``, ``cpu``,
...). One the installed onnxruntime lacks, or that fails to initialise (ORT then silently runs
on CPU), is reported in one warning line, never as an error: a robot keeps seeing people on
the CPU when its GPU stack is broken. The default list (``cuda``, ``cpu``) on the CPU
onnxruntime is not a fault: that says once, at INFO, that the CPU runs and how to get a GPU.
"""
from __future__ import annotations

import logging
from pathlib import Path
import threading

import onnxruntime as ort

from posenet_ros.core import model_files, paths
from posenet_ros.core.config import DEFAULT_PROVIDERS
from posenet_ros.runtime import cuda_libs

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


def warn_once(cause: tuple, message: str, *args, level: int = logging.WARNING) -> bool:
    """Log a provider-fallback warning the first time this process meets ``cause``.

    Models are reloaded on every parameter change (stride, precision, ...): the same
    missing CUDA must not repeat a line per reload. True when it was logged now.
    """
    with _warned_lock:
        if cause in _warned:
            return False
        _warned.add(cause)
    log.log(level, message, *args)
    return True


def gpu_fix() -> str:
    """How to get the GPU runtime, for a pip user and for a colcon workspace."""
    return (f"for a GPU: `pip uninstall onnxruntime && pip install "
            f"'onnxruntime-gpu[cuda,cudnn]=={ort.__version__}'` into the Python that runs "
            "posenet_ros (for a colcon workspace, the Python ROS runs on; in a source "
            "checkout, `make GPU=1 setup`)")


class ModelError(RuntimeError):
    """The model file is missing, unreadable or not a PoseNet model."""


def check_file(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a regular file of a model's size.

    See :mod:`posenet_ros.core.model_files`: FIFOs, devices and huge files are never read.
    An ONNX file's external data files (which ONNX Runtime would read) are checked alike.
    """
    try:
        total = model_files.checked_size(path)
        if path.suffix.lower() == ".onnx":
            for data in _external_data(path):
                total += model_files.checked_size(data, "external data file of the model")
        if total > model_files.MAX_MODEL_BYTES:
            raise model_files.ModelFileError(
                f"{path.name} and its external data hold {total} bytes, more than a model may")
    except model_files.ModelFileError as exc:
        raise ModelError(str(exc)) from None


def _external_data(path: Path) -> list[Path]:
    """Files an ONNX model's tensors keep their data in (none for a self-contained file)."""
    import onnx
    from google.protobuf.message import DecodeError
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except (OSError, DecodeError, ValueError):
        return []       # ONNX Runtime says what is wrong with it
    files = {entry.value for tensor in graph.initializer
             if tensor.data_location == onnx.TensorProto.EXTERNAL
             for entry in tensor.external_data if entry.key == "location"}
    return [path.parent / name for name in sorted(files)]


def image_input(inputs: list[tuple[str, list]], name: str) -> None:
    """Raise :class:`ModelError` unless ``inputs`` (name, shape) are one rank-4 image input.

    A model without inputs, with a scalar input, several inputs or a zero-sized dimension
    cannot take a frame; said at load time rather than as a traceback on every frame.
    """
    shown = ", ".join(f"{n!r:.60} {list(shape)}" for n, shape in inputs[:4]) or "none"
    if (len(inputs) != 1 or len(inputs[0][1]) != 4
            or any(isinstance(d, int) and d == 0 for d in inputs[0][1])):
        raise ModelError(f"{name}: expected one image input of rank 4 (batch, height, width, "
                         f"channels, or channels first) without zero-sized dimensions; the "
                         f"model's inputs: {shown}{', ...' if len(inputs) > 4 else ''}")


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
        gpu = {"cuda", "tensorrt"} & {m.lower() for m in missing}
        if tuple(r.lower() for r in requested) == DEFAULT_PROVIDERS:
            warn_once(("default", chosen[0][0]), "running on %s: this onnxruntime (%s) has no "
                      "GPU provider; %s", chosen[0][0], ort.__version__, gpu_fix(),
                      level=logging.INFO)
        else:
            warn_once(("missing", tuple(missing), chosen[0][0]),
                      "execution provider(s) %s not in this onnxruntime (%s)%s; running on %s",
                      ", ".join(missing), ort.__version__, f": {gpu_fix()}" if gpu else "",
                      chosen[0][0])
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
    # Spinning threads win only on cores nothing else needs (docs/speed.md has the figures).
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
