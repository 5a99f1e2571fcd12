"""Provider fallback warnings: once per process per distinct cause, not once per reload."""
from __future__ import annotations

import logging

import onnxruntime as ort
from posenet_ros.runtime import session as runtime
import pytest


def test_each_fallback_cause_is_logged_once(monkeypatch, caplog):
    absent = [short for short, name in runtime.PROVIDER_NAMES.items()
              if name not in ort.get_available_providers()]
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
