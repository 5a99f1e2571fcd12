"""The int8 model: built by setup with its accuracy guard recorded, and usable by precision."""
import onnx
from posenet_ros import paths
from posenet_ros.model.quantize import accuracy_guard, MIN_POSE_COUNT_AGREEMENT, MIN_WITHIN_3PX
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


def test_precision_int8_selects_the_quantized_model(estimator_factory, still_with_people,
                                                    int8_model):
    est = estimator_factory(precision="int8")
    assert est.model_name == int8_model.name
    assert est.estimate(still_with_people)[0].score > 0.3
