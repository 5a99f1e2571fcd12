"""The converter: tfjs stride plans, and the real weights at every stride and input size."""
import numpy as np
import onnx
from posenet_ros.convert import io_names
from posenet_ros.convert.models import strided_plan
import pytest


def test_strided_plan_is_tfjs_to_output_strided_layers():
    # Worked by hand from tfjs-models mobilenet.ts: strides stop once the target is reached,
    # then the rate multiplies by each skipped stride.
    assert strided_plan(32) == [(2, 1), (1, 1), (2, 1), (1, 1), (2, 1), (1, 1), (2, 1),
                                (1, 1), (1, 1), (1, 1), (1, 1), (1, 1), (2, 1), (1, 1)]
    assert strided_plan(16)[12:] == [(1, 1), (1, 2)]
    assert strided_plan(8)[6:] == [(1, 1)] + [(1, 2)] * 6 + [(1, 4)]


@pytest.mark.parametrize("stride", [8, 16, 32])
@pytest.mark.parametrize("height,width", [(257, 257), (353, 481)])
def test_converted_models_give_the_tfjs_grid_for_any_size(models, stride, height, width):
    import onnxruntime as ort
    session = ort.InferenceSession(str(models[stride]), providers=["CPUExecutionProvider"])
    h, w = (height - 1) // stride * stride + 1, (width - 1) // stride * stride + 1
    out = session.run(list(io_names.OUTPUTS), {io_names.INPUT: np.zeros((2, 3, h, w), np.float32)})
    for name, value in zip(io_names.OUTPUTS, out):
        assert value.shape == (2, io_names.CHANNELS[name],
                               (h - 1) // stride + 1, (w - 1) // stride + 1)
    assert 0.0 <= out[0].min() and out[0].max() <= 1.0          # heatmap is sigmoid scores


def test_model_records_its_stride_and_source(models):
    meta = {p.key: p.value for p in onnx.load(str(models[8])).metadata_props}
    assert meta["output_stride"] == "8"
    assert meta["source"].startswith("posenet.json sha256:")
