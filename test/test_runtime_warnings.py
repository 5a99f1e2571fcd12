"""Provider fallback warnings: once per process per distinct cause, not once per reload."""
from __future__ import annotations

import logging

import onnxruntime as ort
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.runtime import session as runtime
import pytest


def test_each_fallback_cause_is_logged_once(monkeypatch, caplog):
    absent = [short for short, name in runtime.PROVIDER_NAMES.items()   # [cuda, cpu]: default
              if name not in ort.get_available_providers() and short != "cuda"]
    if len(absent) < 2:
        pytest.skip(f"this onnxruntime has almost every provider: {ort.get_available_providers()}")
    monkeypatch.setattr(runtime, "_warned", set())
    caplog.set_level(logging.WARNING, logger=runtime.__name__)
    for _ in range(5):                              # five model reloads
        assert runtime.resolve_providers([absent[0], "cpu"])[-1][0] == "CPUExecutionProvider"
    for _ in range(3):                              # another cause: its own line, once
        runtime.resolve_providers([absent[1], "cpu"])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert absent[0] in lines[0] and absent[1] in lines[1]
    assert all("not in this onnxruntime" in line for line in lines)


def test_gpu_providers_have_one_source():
    assert set(runtime.GPU_PROVIDERS) == {runtime.PROVIDER_NAMES["cuda"],
                                          runtime.PROVIDER_NAMES["tensorrt"]}
    options = dict(runtime.resolve_providers(["cuda", "tensorrt", "cpu"], device_id=3))
    for name in set(runtime.GPU_PROVIDERS) & set(options):   # only those installed here
        assert options[name]["device_id"] == 3


def gpu_lines(caplog, providers, reloads: int = 3) -> list[logging.LogRecord]:
    for _ in range(reloads):
        runtime.resolve_providers(providers)
    return [r for r in caplog.records if r.name == runtime.__name__]


def test_default_providers_on_the_cpu_runtime_say_once_at_info_which_runs(monkeypatch, caplog):
    """A CPU install warned on every start, naming a Makefile target colcon users lack."""
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: the default list is not missing anything")
    monkeypatch.setattr(runtime, "_warned", set())
    caplog.set_level(logging.DEBUG, logger=runtime.__name__)
    records = gpu_lines(caplog, list(EstimatorConfig().providers))
    assert [r.levelno for r in records] == [logging.INFO], [r.getMessage() for r in records]
    line = records[0].getMessage()
    assert line.startswith("running on CPUExecutionProvider")
    assert "pip install 'onnxruntime-gpu[cuda,cudnn]==" + ort.__version__ in line   # pip
    assert "colcon workspace" in line and "make GPU=1 setup" in line


@pytest.mark.parametrize("asked", [("cuda",), ("tensorrt", "cuda", "cpu")])
def test_a_gpu_asked_for_explicitly_that_cannot_run_warns_with_the_fix(
        monkeypatch, caplog, asked):
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    monkeypatch.setattr(runtime, "_warned", set())
    caplog.set_level(logging.DEBUG, logger=runtime.__name__)
    records = gpu_lines(caplog, list(asked))
    assert [r.levelno for r in records] == [logging.WARNING]
    line = records[0].getMessage()
    assert "cuda" in line and "not in this onnxruntime" in line
    assert "pip install 'onnxruntime-gpu" in line and "colcon workspace" in line
