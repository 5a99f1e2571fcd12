"""onnxruntime-gpu on a machine without a usable GPU: CPU, the same poses, one warning line.

The real onnxruntime-gpu wheel lists the CUDA and TensorRT providers, which cannot start here
(no driver, and in the unpacked wheel no CUDA libraries either). ``make test`` unpacks it
once, hash-checked, under $POSENET_ROS_HOME/onnxruntime-gpu; a child process puts it in front
of the venv's CPU onnxruntime. In a venv set up with ``make GPU=1`` the child runs the venv
itself: on a GPU machine it must then run on CUDA.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import subprocess
import sys

import numpy as np
import posenet_ros
from posenet_ros.core import paths
from posenet_ros.runtime import cuda_libs
import pytest

WHEEL_DIR = paths.home() / "onnxruntime-gpu"        # where the Makefile unpacks it
DECODER = "multi"
# Keypoints within this many pixels and scores within this much of the CPU build's (the
# repo's float32 tolerance). The same CPU kernels in two builds of one ORT version agree to
# the last digit when both preprocess on the host; the fused device preprocessing differs
# by ~2e-6 in scores.
PX_TOL, SCORE_TOL = 1e-3, 1e-5

CHILD = f"""
import json, logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                    format="%(levelname)s %(name)s: %(message)s")
logging.getLogger("posenet_ros.estimator").setLevel(logging.WARNING)
import numpy as np
import onnxruntime
from posenet_ros.estimator import PoseEstimator
frames = np.load(sys.argv[1])
est = PoseEstimator(providers=tuple(sys.argv[2].split(",")), decoder="{DECODER}")
poses = [[(p.score, p.positions.tolist(), p.keypoint_scores.tolist()) for p in r.poses]
         for r in (est.estimate(frames[k]) for k in sorted(frames))]
print(json.dumps({{"module": onnxruntime.__file__,
                  "available": onnxruntime.get_available_providers(),
                  "providers": est.providers, "poses": poses}}))
"""


@pytest.fixture(scope="module")
def frames(tmp_path_factory, video_frames, still_with_people) -> Path:
    """Real scenes (a still with people, two frames of the pedestrian video) in an .npz file."""
    path = tmp_path_factory.mktemp("gpu") / "frames.npz"
    np.savez(path, **{f"f{i}": f for i, f in
                      enumerate([still_with_people, *video_frames[2:4]])})
    return path


def run_child(frames: Path, providers: str,
              in_front: Path | None) -> tuple[dict, list[str], list[str]]:
    """Estimate ``frames`` in a fresh interpreter; return its result, stdout and stderr lines."""
    engine = str(Path(posenet_ros.__file__).resolve().parents[1])
    path = [str(in_front)] if in_front else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [*path, engine, *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(frames), providers],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout.splitlines(), [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return json.loads(out[-1]), out, err


@pytest.fixture(scope="module")
def cpu_poses(models, frames) -> list:
    """Estimate the same frames with this process's onnxruntime on the CPU provider."""
    from posenet_ros.estimator import PoseEstimator
    est = PoseEstimator(providers=("cpu",), decoder=DECODER)
    stack = np.load(frames)
    return [est.estimate(stack[k]).poses for k in sorted(stack)]


@pytest.fixture(scope="module")
def wheel_child(frames) -> tuple[dict, list[str], list[str]]:
    """Run a CPU venv with the unpacked onnxruntime-gpu wheel in front: no CUDA libraries."""
    if not (WHEEL_DIR / "onnxruntime" / "__init__.py").is_file():
        pytest.skip(f"no onnxruntime-gpu wheel in {WHEEL_DIR}: `make test` unpacks it")
    if gpu_present():
        pytest.skip("this machine has a GPU: the fallback cannot be seen here")
    if cuda_libs.gpu_runtime_installed():
        pytest.skip("this venv has onnxruntime-gpu and the CUDA wheels: see venv_child")
    return run_child(frames, "cuda,cpu", WHEEL_DIR)


@pytest.fixture(scope="module")
def venv_child(frames) -> tuple[dict, list[str], list[str]]:
    """Run this venv when `make GPU=1 setup` made it: onnxruntime-gpu and the CUDA wheels."""
    if not cuda_libs.gpu_runtime_installed():
        pytest.skip("this venv has the CPU onnxruntime (`make GPU=1 setup` for the GPU one)")
    return run_child(frames, "cuda,cpu", None)


def assert_same_poses(child: list, expected: list) -> None:
    assert [len(p) for p in child] == [len(p) for p in expected]
    for got_frame, want_frame in zip(child, expected):
        for (score, xy, scores), want in zip(got_frame, want_frame):
            assert abs(score - want.score) <= SCORE_TOL
            np.testing.assert_allclose(xy, want.positions, rtol=0, atol=PX_TOL)
            np.testing.assert_allclose(scores, want.keypoint_scores, rtol=0, atol=SCORE_TOL)


def gpu_present() -> bool:
    """Independent of cuda_libs: the driver's own tool lists a GPU."""
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def test_wheel_lists_cuda_but_runs_on_cpu_with_cpu_poses(wheel_child, cpu_poses):
    result, _, _ = wheel_child
    assert Path(result["module"]).is_relative_to(WHEEL_DIR)
    assert "CUDAExecutionProvider" in result["available"]
    assert result["providers"] == ["CPUExecutionProvider"]
    assert_same_poses(result["poses"], cpu_poses)


def test_gpu_venv_runs_on_cuda_or_on_cpu_with_cpu_poses(venv_child, cpu_poses):
    result, _, err = venv_child
    assert "CUDAExecutionProvider" in result["available"]
    if gpu_present():   # GPU poses and figures: tools/gpu_check.py
        assert result["providers"][0] == "CUDAExecutionProvider", err
    else:
        assert result["providers"] == ["CPUExecutionProvider"]
        assert_same_poses(result["poses"], cpu_poses)


@pytest.mark.parametrize("setup", ["wheel_child", "venv_child"])
def test_fallback_says_one_line_naming_the_fix(setup, request):
    _, out, err = request.getfixturevalue(setup)
    if gpu_present():
        pytest.skip("this machine has a GPU: no fallback")
    assert len(out) == 1, out            # the result only: nothing printed to stdout
    assert len(err) == 1, err
    assert err[0].startswith(
        "WARNING posenet_ros.runtime.session: CUDAExecutionProvider could not")
    assert "no NVIDIA driver" in err[0] and err[0].endswith("running on CPUExecutionProvider")
    if setup == "wheel_child":          # no CUDA wheels next to it either
        assert "CUDA 13 libraries missing" in err[0] and "make GPU=1 setup" in err[0]


def test_unusable_names_the_driver_and_the_libraries():
    if gpu_present():
        pytest.skip("this machine has a GPU")
    why = cuda_libs.unusable(["TensorrtExecutionProvider", "CUDAExecutionProvider",
                              "CPUExecutionProvider"])
    assert set(why) == {"TensorrtExecutionProvider", "CUDAExecutionProvider"}
    assert "no NVIDIA driver (libcuda.so.1" in why["CUDAExecutionProvider"]
    system = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    if not cuda_libs.nvidia_lib_dirs() and "libcudnn.so.9" not in system:   # a CPU venv
        assert "CUDA 13 libraries missing (" in why["CUDAExecutionProvider"]
        assert "libcudnn.so.9" in why["CUDAExecutionProvider"]
    assert cuda_libs.unusable(["CPUExecutionProvider"]) == {}
