"""onnxruntime-gpu's native libraries: load the CUDA wheels' copies, and say why a GPU can't start.

onnxruntime-gpu's provider libraries name CUDA 13, cuBLAS, cuRAND, cuDNN 9 (and TensorRT 10)
by soname but carry no search path, so the copies `make GPU=1 setup` installs from PyPI
(``site-packages/nvidia/*/lib``) are found only once loaded. ORT's own ``preload_dlls``
does that but prints to stdout; :func:`unusable` does it quietly.

When a provider is listed but cannot start, ORT falls back to CPU and prints several lines
that do not say which part is missing; :func:`unusable` finds it first (driver, library,
device) and names the fix, for the single warning line the runtime logs.
"""
from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
from pathlib import Path

# Sonames the provider libraries of onnxruntime-gpu 1.31 (CUDA 13 build) need, in load order
# (cuDNN too: PoseNet is convolutions); cuFFT and NVRTC only some operators use.
CUDA_LIBS = ("libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10",
             "libcudnn.so.9")
OPTIONAL_CUDA_LIBS = ("libcufft.so.12", "libnvrtc.so.13")
TENSORRT_LIBS = ("libnvinfer.so.10", "libnvinfer_plugin.so.10", "libnvonnxparser.so.10")
DRIVER_LIB = "libcuda.so.1"
# What each GPU provider needs beyond the driver and CUDA_LIBS.
EXTRA_LIBS = {"CUDAExecutionProvider": (), "TensorrtExecutionProvider": TENSORRT_LIBS}
CUDA_MAJOR = 13
# The fix for missing CUDA libraries, for a pip user, a colcon workspace and a source checkout.
GPU_SETUP = ("`pip install 'onnxruntime-gpu[cuda,cudnn]'` into the Python that runs posenet_ros "
             "(for a colcon workspace, the one ROS runs on); `make GPU=1 setup` in a checkout")


def nvidia_lib_dirs() -> list[Path]:
    """``lib`` folders of the installed ``nvidia-*`` wheels (CUDA 13 wheels use nvidia/cu13)."""
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(lib for root in spec.submodule_search_locations
                  for lib in Path(root).glob("*/lib") if lib.is_dir())


def _load(soname: str, dirs: list[Path]) -> ctypes.CDLL | None:
    """Load ``soname`` globally from the wheels' folders, else the system's search path."""
    for candidate in [str(d / soname) for d in dirs if (d / soname).is_file()] + [soname]:
        try:
            return ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue        # a broken copy: try the next one
    return None


def gpu_runtime_installed() -> bool:
    """Whether the installed ``onnxruntime`` module is onnxruntime-gpu's."""
    try:
        importlib.metadata.distribution("onnxruntime-gpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    import onnxruntime
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def unusable(providers: list[str]) -> dict[str, str]:
    """Load the GPU providers' libraries; return {provider: why it cannot start, and the fix}.

    Asking ORT for a provider that cannot start prints several lines (TensorRT a whole block,
    to stdout) and says little; checked here first, such a provider is left out instead.
    """
    gpu = [p for p in providers if p in EXTRA_LIBS]
    if not gpu:
        return {}
    dirs = nvidia_lib_dirs()
    missing = [name for name in CUDA_LIBS if _load(name, dirs) is None]
    for name in OPTIONAL_CUDA_LIBS:
        _load(name, dirs)
    problems = []
    if _load(DRIVER_LIB, []) is None:
        problems.append(f"no NVIDIA driver ({DRIVER_LIB} not found: install it; "
                        "nvidia-smi must list the GPU)")
    if missing:
        problems.append(f"CUDA {CUDA_MAJOR} libraries missing ({', '.join(missing)}: "
                        f"{GPU_SETUP})")
    if not problems:
        count = ctypes.c_int(0)
        status = _load(CUDA_LIBS[0], dirs).cudaGetDeviceCount(ctypes.byref(count))
        if status != 0 or count.value == 0:
            problems.append(f"no usable GPU (cudaGetDeviceCount: error {status}, {count.value} "
                            f"devices; error 35: the driver is older than CUDA {CUDA_MAJOR})")
    if problems:
        return dict.fromkeys(gpu, "; ".join(problems))
    why = {}
    for provider in gpu:
        lacking = [name for name in EXTRA_LIBS[provider] if _load(name, dirs) is None]
        if lacking:     # only TensorRT has extra libraries
            why[provider] = f"TensorRT 10 libraries missing ({', '.join(lacking)}: README, GPU)"
    return why
