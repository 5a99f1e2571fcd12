"""Settings validation and tfjs resolution rounding."""
from posenet_ros.core.config import ConfigError, EstimatorConfig, valid_resolution
import pytest


@pytest.mark.parametrize("size,stride,expected", [(257, 16, 257), (256, 16, 257), (300, 16, 289),
                                                  (513, 32, 513), (500, 8, 497), (225, 16, 225)])
def test_resolution_rounding_follows_tfjs(size, stride, expected):
    assert valid_resolution(size, stride) == expected
    assert (expected - 1) % stride == 0


def test_scale_factor_replaces_resolution_and_keeps_aspect():
    cfg = EstimatorConfig(image_scale_factor=0.5)
    assert cfg.input_size(768, 576) == (385, 289)


@pytest.mark.parametrize("change", [{"output_stride": 12}, {"decoder": "many"},
                                    {"score_threshold": 1.5}, {"max_detections": 0},
                                    {"nms_radius": -1.0}, {"input_resolution": 10},
                                    {"image_scale_factor": 3.0}, {"bogus": 1}])
def test_bad_settings_are_rejected_with_the_setting_named(change):
    with pytest.raises(ConfigError) as err:
        EstimatorConfig().replace(**change)
    assert next(iter(change)) in str(err.value)


def test_int8_is_for_named_models_a_file_runs_as_it_is():
    for name in (None, "posenet", "movenet-thunder", "movenet-lightning"):
        assert EstimatorConfig(model=name, precision="int8").precision == "int8"
    with pytest.raises(ConfigError, match="precision 'int8'.*run as it is"):
        EstimatorConfig(model="/some/where/model.onnx", precision="int8")
    assert EstimatorConfig(model="/some/where/model-int8.onnx").precision == "fp32"
