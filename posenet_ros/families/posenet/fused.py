"""The model with tfjs preprocessing in front, so raw uint8 frames go to the device.

On a GPU the host then only uploads camera bytes (a quarter of the float32 input); padding,
TF-legacy bilinear resizing and [-1, 1] scaling run as ONNX ops next to the network. ONNX
``Resize`` with ``coordinate_transformation_mode=asymmetric`` maps output x to input
``x * in / out``: exactly ``tf.image.resizeBilinear`` without half-pixel centres, clamped at the
border as tfjs does. The frame is cast to float before resizing: rounding resized pixels to
8 bits is enough to flip near-tied heatmap maxima.

Inputs: ``frames`` uint8 [N, H, W, 3] RGB; ``pads`` int64 [8] (ONNX Pad order for NCHW:
0, 0, top, left, 0, 0, bottom, right); ``sizes`` int64 [4] = N, 3, input_h, input_w.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

from posenet_ros.convert import io_names
from posenet_ros.families.posenet.preprocess import Letterbox

FRAMES, PADS, SIZES = "frames", "pads", "sizes"


def with_uint8_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return a copy of ``model`` whose input is raw frames plus the letterbox as tensors."""
    graph = model.graph
    if graph.input[0].name != io_names.INPUT:
        raise ValueError(f"expected a posenet_ros model with input {io_names.INPUT!r}")
    pre = [
        helper.make_node("Cast", [FRAMES], ["pre/float"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["pre/float"], ["pre/nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Pad", ["pre/nchw", PADS], ["pre/padded"], mode="constant"),
        helper.make_node("Resize", ["pre/padded", "", "", SIZES], ["pre/resized"],
                         mode="linear", coordinate_transformation_mode="asymmetric"),
        helper.make_node("Mul", ["pre/resized", "pre/scale"], ["pre/scaled"]),
        helper.make_node("Sub", ["pre/scaled", "pre/one"], [io_names.INPUT]),
    ]
    consts = [numpy_helper.from_array(np.array(1 / 127.5, np.float32), "pre/scale"),
              numpy_helper.from_array(np.array(1.0, np.float32), "pre/one")]
    inputs = [helper.make_tensor_value_info(FRAMES, TensorProto.UINT8,
                                            ["batch", "frame_height", "frame_width", 3]),
              helper.make_tensor_value_info(PADS, TensorProto.INT64, [8]),
              helper.make_tensor_value_info(SIZES, TensorProto.INT64, [4])]
    fused = helper.make_graph(pre + list(graph.node), graph.name + "_uint8", inputs,
                              list(graph.output), consts + list(graph.initializer))
    out = helper.make_model(fused, opset_imports=list(model.opset_import),
                            producer_name="posenet_ros")
    out.ir_version = model.ir_version
    for prop in model.metadata_props:
        out.metadata_props.add(key=prop.key, value=prop.value)
    onnx.checker.check_model(out)
    return out


def letterbox_tensors(box: Letterbox, batch: int) -> dict[str, np.ndarray]:
    """Return the ``pads`` and ``sizes`` inputs for frames laid out as ``box`` says."""
    return {PADS: np.array([0, 0, box.pad_top, box.pad_left, 0, 0, box.pad_bottom, box.pad_right],
                           np.int64),
            SIZES: np.array([batch, 3, box.input_height, box.input_width], np.int64)}
