"""The int8 models: built by setup with their accuracy guard recorded, usable by precision.

A refused model leaves a record keyed by its inputs, so setup does not recalibrate it. PoseNet
and MoveNet go through the same recipe; MoveNet's tests use Lightning (the smallest) on the
eight fixture frames, so calibration and guard take seconds.
"""
import collections
from pathlib import Path
import shutil

import numpy as np
import onnx
from posenet_ros.cli import main as cli
from posenet_ros.convert.metadata import add_metadata
from posenet_ros.core import paths
from posenet_ros.core.paths import MissingAssetError
from posenet_ros.estimator import PoseEstimator
from posenet_ros.families.movenet import image_ops
from posenet_ros.families.movenet.crop_region import init_crop_region
from posenet_ros.quantize import build as int8_build, guard as int8_guard
from posenet_ros.quantize import static as quantize
from posenet_ros.quantize.guard import accuracy_guard, MIN_POSE_COUNT_AGREEMENT, MIN_WITHIN_3PX
from posenet_ros.runtime.session import ModelError
import pytest

LIGHTNING = "movenet-lightning"


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
def calibrations(monkeypatch):
    """Return the fp32 models calibrated from now on, in order."""
    calls = []
    real = quantize.quantize

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)
    monkeypatch.setattr(quantize, "quantize", spy)
    return calls


@pytest.fixture
def refusing_guard(monkeypatch, calibrations):
    """Make the guard unpassable (a share above 1); return the calibration runs seen."""
    monkeypatch.setattr(int8_guard, "MIN_WITHIN_3PX", 1.01)
    return calibrations


@pytest.fixture
def passing_guard(monkeypatch, calibrations):
    """Let any int8 model in, whatever it does; return the calibration runs seen."""
    monkeypatch.setattr(int8_guard, "MIN_WITHIN_3PX", 0.0)
    monkeypatch.setattr(int8_guard, "MIN_POSE_COUNT_AGREEMENT", 0.0)
    return calibrations


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
    add_metadata(fp32, {"edited": "yes"})
    with pytest.raises(int8_build.QuantizationRefused, match="refused: int8 vs fp32"):
        int8_build.build_int8(fp32, int8, video_frames)     # the edited model is tried again
    assert len(refusing_guard) == 2


def test_convert_int8_skips_models_refused_with_the_same_inputs(
        models, lightning, tmp_path, refusing_guard, monkeypatch, capsys):
    monkeypatch.setattr(int8_build, "CALIBRATION_FRAMES", 8)    # a short calibration
    for fp32 in (models[32], lightning):        # up to date there: convert only quantises
        shutil.copy(fp32, tmp_path)
    argv = ["convert", "--int8", "--strides", "32", "--movenet", LIGHTNING, "--out",
            str(tmp_path)]
    assert cli.main(argv) == 0      # every model asked for was refused: a finding, not an error
    out, err = capsys.readouterr()
    assert "histogram" not in out               # onnxruntime's calibration steps: debug log only
    assert len(refusing_guard) == 2 and err.count("refused: int8 vs fp32") == 2
    assert f"{LIGHTNING}: int8 model refused" in err
    assert cli.main(argv) == 0      # refused before with the same inputs: skipped, said
    assert len(refusing_guard) == 2 and capsys.readouterr().err.count("same inputs before") == 2
    monkeypatch.setattr(int8_guard, "MIN_WITHIN_3PX", MIN_WITHIN_3PX)   # guard settings changed
    cli.main(argv)
    assert len(refusing_guard) == 4


@pytest.fixture(scope="module")
def lightning():
    path = paths.movenet_model(LIGHTNING)
    if not path.is_file():
        pytest.skip(f"{path} missing: run `posenet-ros convert`")
    return path


def test_movenet_is_calibrated_on_the_inputs_it_really_sees(lightning, video_frames):
    feeds = int8_build.calibration_feeds(lightning, video_frames)
    assert len(feeds) == len(video_frames)
    assert all(f.dtype == np.int32 and f.shape == (1, 192, 192, 3) for f in feeds)
    h, w = video_frames[0].shape[:2]
    centred = init_crop_region(True, w, h).box()                    # a first frame's crop
    np.testing.assert_array_equal(
        feeds[0], image_ops.crop_and_resize(video_frames[0], centred, (192, 192)))
    moved = [not np.array_equal(f, image_ops.crop_and_resize(frame, centred, (192, 192)))
             for f, frame in zip(feeds[1:], video_frames[1:])]
    assert any(moved)                           # later crops follow the fp32 model's keypoints
    multipose = paths.movenet_model("movenet-multipose")
    if multipose.is_file():
        np.testing.assert_array_equal(int8_build.calibration_feeds(multipose, video_frames[:1])[0],
                                      image_ops.multipose_input(video_frames[0])[0])


def test_movenet_int8_quantises_convolutions_only_and_is_judged_on_real_frames(
        lightning, video_frames, tmp_path):
    calibration, held_out = video_frames[0::2], video_frames[1::2]
    int8 = tmp_path / "lightning-int8.onnx"
    quantize.quantize(lightning, int8, int8_build.calibration_feeds(lightning, calibration),
                      quantize.MOVENET_SETTINGS)
    graph = onnx.load(str(int8)).graph
    made_by = {out: node for node in graph.node for out in node.output}
    fed = collections.Counter()
    for node in graph.node:
        for name in node.input:
            if name in made_by and made_by[name].op_type == "DequantizeLinear":
                fed[node.op_type] += 1
    assert fed["Conv"] > 0 and not {"ArgMax", "GatherND", "Sigmoid"} & set(fed)
    heads = quantize.head_convs(onnx.load(str(lightning)).graph)
    assert len(heads) == 4
    for node in graph.node:                     # heads: fp32 weights and inputs
        if node.name in heads:
            assert not any(made_by.get(i) is not None
                           and made_by[i].op_type == "DequantizeLinear" for i in node.input)
    same = accuracy_guard(lightning, lightning, held_out)
    assert same.within_3px == 1.0 and same.pose_count_agreement == 1.0 and same.keypoints > 0
    guard = accuracy_guard(lightning, int8, held_out)
    print(f"\n{guard}")
    assert guard.frames == len(held_out) and 0.0 <= guard.within_3px <= 1.0
    assert guard != same                        # measured: int8 does change the poses


def _movenet_home(tmp_path, monkeypatch, lightning):
    """Point POSENET_ROS_HOME at a folder with only Lightning's fp32 model; return both paths."""
    monkeypatch.setenv("POSENET_ROS_HOME", str(tmp_path))
    paths.models_dir().mkdir(parents=True)
    shutil.copy(lightning, paths.models_dir())
    return paths.movenet_model(LIGHTNING), paths.movenet_model(LIGHTNING, quantized=True)


def test_a_refused_movenet_model_is_recorded_and_named_by_precision_int8(
        lightning, video_frames, tmp_path, refusing_guard, monkeypatch):
    fp32, int8 = _movenet_home(tmp_path, monkeypatch, lightning)
    with pytest.raises(MissingAssetError, match="never built.*posenet-ros convert --int8"):
        PoseEstimator(model=LIGHTNING, precision="int8", providers=("cpu",))
    with pytest.raises(int8_build.QuantizationRefused, match="refused: int8 vs fp32") as refused:
        int8_build.build_int8(fp32, int8, video_frames)
    assert refusing_guard == [fp32] and not int8.exists()
    record = paths.refusal_record(int8)
    verdict = paths.refusal_verdict(int8)
    assert record.name == "movenet-lightning-int8.refused.json" and verdict in str(refused.value)
    with pytest.raises(int8_build.QuantizationRefused, match="with the same inputs before"):
        int8_build.build_int8(fp32, int8, video_frames)
    assert len(refusing_guard) == 1                         # not calibrated again
    with pytest.raises(MissingAssetError, match="refused by the int8 accuracy guard") as error:
        PoseEstimator(model=LIGHTNING, precision="int8", providers=("cpu",))
    assert str(record) in str(error.value) and verdict in str(error.value)
    assert int8_build.verdict(int8) == f"refused: {verdict} ({record.name})"
    assert PoseEstimator(model=LIGHTNING, providers=("cpu",)).model_name == LIGHTNING


def test_an_installed_movenet_model_is_loaded_by_precision_int8(
        lightning, video_frames, tmp_path, monkeypatch, passing_guard):
    fp32, int8 = _movenet_home(tmp_path, monkeypatch, lightning)
    guard = int8_build.build_int8(fp32, int8, video_frames)
    assert int8.is_file() and not paths.refusal_record(int8).exists()
    assert int8_build.verdict(int8) == f"installed: {guard}"
    est = PoseEstimator(model=LIGHTNING, precision="int8", providers=("cpu",))
    assert est.model_name == "movenet-lightning-int8"
    assert est.estimate(video_frames[0], stamp=0.0).poses[0].score > 0.25


def test_an_installed_model_is_rebuilt_only_when_its_inputs_change(
        lightning, video_frames, tmp_path, monkeypatch, passing_guard):
    fp32, int8 = _movenet_home(tmp_path, monkeypatch, lightning)
    calls = passing_guard
    assert int8_build.build_int8(fp32, int8, video_frames) is not None
    key = int8_build.installed_key(int8)
    assert key == int8_build.inputs_key(fp32, video_frames)
    assert int8_build.build_int8(fp32, int8, video_frames) is None and len(calls) == 1
    # More calibration code (as an edit to it would) changes the key: built again.
    more = int8_build.CALIBRATION_CODE + ("core/paths.py",)
    monkeypatch.setattr(int8_build, "CALIBRATION_CODE", more)
    assert int8_build.inputs_key(fp32, video_frames) != key
    assert int8_build.build_int8(fp32, int8, video_frames) is not None and len(calls) == 2
    int8.write_bytes(int8.read_bytes()[:5000])              # truncated: not trusted, rebuilt
    assert int8_build.installed_key(int8) is None
    assert int8_build.verdict(int8).startswith("unreadable (")
    assert int8_build.build_int8(fp32, int8, video_frames) is not None and len(calls) == 3
    assert int8_build.installed_key(int8) == int8_build.inputs_key(fp32, video_frames)


def test_the_models_stamp_covers_the_calibration_code():
    """`make setup` reruns convert --int8 after an edit to any file the int8 keys hash."""
    makefile = (Path(__file__).parents[1] / "Makefile").read_text().replace("\\\n", " ")
    line = next(row for row in makefile.splitlines() if row.startswith("CALIBRATION_CODE :="))
    in_make = set(line.split(":=", 1)[1].split())
    assert in_make == {f"posenet_ros/{pattern}" for pattern in int8_build.CALIBRATION_CODE}
    assert "$(CALIBRATION_CODE)" in next(row for row in makefile.splitlines()
                                         if row.startswith("MODELS_STAMP :="))


@pytest.mark.parametrize("content", [b"\x00\xff not json", b"[1, 2]", b""])
def test_a_corrupt_refusal_record_is_named_and_recalibrated(
        lightning, video_frames, tmp_path, refusing_guard, monkeypatch, content):
    fp32, int8 = _movenet_home(tmp_path, monkeypatch, lightning)
    paths.refusal_record(int8).write_bytes(content)
    with pytest.raises(MissingAssetError, match="refused .*record unreadable"):
        PoseEstimator(model=LIGHTNING, precision="int8", providers=("cpu",))
    with pytest.raises(int8_build.QuantizationRefused, match="refused: int8 vs fp32"):
        int8_build.build_int8(fp32, int8, video_frames)     # not trusted: calibrated again
    assert refusing_guard == [fp32] and paths.refusal_verdict(int8).startswith("int8 vs fp32")


def test_a_malformed_int8_model_file_is_a_clear_error(lightning, tmp_path, monkeypatch):
    fp32, int8 = _movenet_home(tmp_path, monkeypatch, lightning)
    int8.write_bytes(fp32.read_bytes()[:5000])              # truncated, as a full disk leaves it
    with pytest.raises(ModelError, match=f"cannot load {int8}"):
        PoseEstimator(model=LIGHTNING, precision="int8", providers=("cpu",))
