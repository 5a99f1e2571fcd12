"""The int8 model: built by setup with its accuracy guard recorded, and usable by precision.

A refused stride leaves a record keyed by its inputs, so setup does not recalibrate it.
"""
import shutil

import onnx
from posenet_ros import cli, paths
from posenet_ros.bench import int8_build, int8_guard
from posenet_ros.bench.int8_guard import accuracy_guard, MIN_POSE_COUNT_AGREEMENT, MIN_WITHIN_3PX
from posenet_ros.model import quantize
import pytest


@pytest.fixture(scope="module")
def int8_model():
    path = paths.default_model(16, quantized=True)
    if not path.is_file():
        pytest.skip(f"{path} missing: `make setup` builds it with `posenet-ros convert --int8`")
    return path


def test_int8_model_carries_a_passing_guard(int8_model):
    meta = {p.key: p.value for p in onnx.load(str(int8_model)).metadata_props}
    assert meta["precision"] == "int8"
    assert "confident keypoints within 3 px" in meta["int8_guard"]


def test_guard_measures_agreement(models, video_frames, int8_model):
    same = accuracy_guard(models[16], models[16], video_frames)
    assert same.within_3px == 1.0 and same.pose_count_agreement == 1.0 and same.keypoints > 0
    guard = accuracy_guard(models[16], int8_model, video_frames)
    print(f"\n{guard}")
    assert (guard.within_3px >= MIN_WITHIN_3PX
            and guard.pose_count_agreement >= MIN_POSE_COUNT_AGREEMENT)
    assert guard.passed


def test_precision_int8_selects_the_quantized_model(estimator_factory, still_with_people,
                                                    int8_model):
    est = estimator_factory(precision="int8")
    assert est.model_name == int8_model.name
    assert est.estimate(still_with_people).poses[0].score > 0.3


@pytest.fixture
def refusing_guard(monkeypatch):
    """Make the guard unpassable (a share above 1); return the calibration runs seen."""
    monkeypatch.setattr(int8_guard, "MIN_WITHIN_3PX", 1.01)
    calls = []
    real = quantize.quantize

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)
    monkeypatch.setattr(quantize, "quantize", spy)
    return calls


def test_a_refusal_is_recorded_and_not_recalibrated_until_inputs_change(
        models, video_frames, tmp_path, refusing_guard, monkeypatch):
    fp32 = shutil.copy(models[32], tmp_path)
    int8 = tmp_path / paths.default_model(32, quantized=True).name
    with pytest.raises(int8_build.QuantizationRefused, match="refused: int8 vs fp32"):
        int8_build.build_int8(fp32, int8, video_frames)
    assert refusing_guard == [fp32] and not int8.exists()
    record = int8_build.refusal_record(int8)
    assert record.is_file() and not (tmp_path / (int8.stem + ".tmp.onnx")).exists()
    with pytest.raises(int8_build.QuantizationRefused, match="with the same inputs before"):
        int8_build.build_int8(fp32, int8, video_frames)
    assert len(refusing_guard) == 1                         # not calibrated again
    # Each input changes the key: other frames, a looser guard, another fp32 model.
    key = int8_build.inputs_key(fp32, video_frames)
    assert int8_build.inputs_key(fp32, video_frames[1:]) != key
    monkeypatch.setattr(int8_guard, "MIN_WITHIN_3PX", MIN_WITHIN_3PX)
    assert int8_build.inputs_key(fp32, video_frames) != key
    monkeypatch.setattr(int8_guard, "MIN_WITHIN_3PX", 1.01)
    quantize.add_metadata(fp32, {"edited": "yes"})
    with pytest.raises(int8_build.QuantizationRefused, match="refused: int8 vs fp32"):
        int8_build.build_int8(fp32, int8, video_frames)     # the edited model is tried again
    assert len(refusing_guard) == 2


def test_convert_int8_skips_a_stride_refused_with_the_same_inputs(
        models, tmp_path, refusing_guard, monkeypatch, capsys):
    monkeypatch.setattr(int8_build, "CALIBRATION_FRAMES", 8)    # a short calibration
    argv = ["convert", "--int8", "--strides", "32", "--out", str(tmp_path)]
    assert cli.main(argv) == 1                  # the only stride asked for was refused
    assert len(refusing_guard) == 1 and "refused: int8 vs fp32" in capsys.readouterr().err
    assert cli.main(argv) == 1
    assert len(refusing_guard) == 1 and "same inputs before" in capsys.readouterr().err
    monkeypatch.setattr(int8_guard, "MIN_WITHIN_3PX", MIN_WITHIN_3PX)   # guard settings changed
    cli.main(argv)
    assert len(refusing_guard) == 2
