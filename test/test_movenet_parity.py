"""MoveNet against pose-detection 2.1.3 (tfjs-wasm in Node) on real frames.

Single pose is a feedback loop: each frame's crop comes from the last frame's keypoints, so a
1e-7 difference between ONNX Runtime's and wasm's float32 convolutions moves the next crop by
~1e-8, which can flip a truncated input pixel, and over a crowded video the two runs drift
apart (measured: 13-89 px after 30 frames of vtest.avi). The sequence tests therefore steer
our crop with the region the reference used (recomputed from its returned keypoints with our
crop-region code), which checks crop, input, graph, decoding and smoothing on every frame;
stills (first frames) and MultiPose (stateless) are compared directly.
"""
from __future__ import annotations

import numpy as np
from posenet_ros.core import paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.families.movenet import image_ops
from posenet_ros.families.movenet.crop_region import (
    CropRegionFilter, init_crop_region, next_crop_region)
from posenet_ros.families.movenet.family import MoveNet
from prerequisites import missing
import pytest

pytest_plugins = ["parity_fixtures"]   # movenet_reference, parity_frames

SEQUENCE = 20           # consecutive vtest.avi frames per single-pose run
FRAME_MS = 40           # vtest.avi is 25 frames/s
PX, SCORE = 0.5, 1e-3


@pytest.fixture(scope="module")
def sequence():
    import cv2

    capture = cv2.VideoCapture(str(paths.sample_video()))
    frames = []
    while len(frames) < SEQUENCE:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    if len(frames) < SEQUENCE:
        missing(f"{paths.sample_video()} missing or short; run `make setup`")
    return frames


def _model(name: str) -> tuple[MoveNet, EstimatorConfig]:
    if not (paths.models_dir() / f"{name}.onnx").is_file():
        missing(f"{name}.onnx not converted; run `posenet-ros convert`")
    config = EstimatorConfig(model=name, providers=("cpu",))
    return MoveNet(config), config


def _theirs(pose: dict) -> tuple[np.ndarray, np.ndarray]:
    kps = pose["keypoints"]
    return (np.array([[k["x"], k["y"]] for k in kps]), np.array([k["score"] for k in kps]))


def _assert_same(ours, theirs, where: str) -> None:
    assert len(ours) == len(theirs), f"{where}: {len(ours)} poses, reference {len(theirs)}"
    for a, b in zip(ours, theirs):
        xy, scores = _theirs(b)
        assert abs(a.score - b["score"]) < SCORE, where
        assert np.abs(a.keypoint_scores - scores).max() < SCORE, where
        assert np.abs(a.positions - xy).max() < PX, f"{where}: {np.abs(a.positions - xy).max()}"


def _estimate(model: MoveNet, config, image, state, stamp):
    prepared = model.prepare([image], config, [state])
    return model.decode(model.run(prepared), prepared, config, [state], [stamp])[0]


@pytest.mark.parametrize("name", ["movenet-lightning", "movenet-thunder"])
@pytest.mark.parametrize("smoothing", [True, False])
def test_single_pose_sequence_matches_pose_detection(movenet_reference, sequence, name,
                                                     smoothing):
    model, config = _model(name)
    state, steer = model.new_state(), CropRegionFilter()
    h, w = sequence[0].shape[:2]
    region = None
    for k, image in enumerate(sequence):
        theirs, _ = movenet_reference.estimate(image, name, stream=f"{name}-{smoothing}",
                                               smoothing=smoothing, reset=k == 0,
                                               timestamp_ms=k * FRAME_MS if smoothing else None)
        if region is not None:
            state.crop = region
        # Without a stamp neither side smooths (pose-detection skips its filter then).
        ours = _estimate(model, config, image, state, k * FRAME_MS / 1000 if smoothing else None)
        _assert_same(ours, theirs, f"{name} frame {k}")
        if not theirs:
            steer, region = CropRegionFilter(), None
            state.reset()
            continue
        xy, scores = _theirs(theirs[0])
        current = region or init_crop_region(True, w, h)
        region = steer.apply(next_crop_region(current, xy[:, ::-1] / [h, w], scores, w, h))


@pytest.mark.parametrize("name", ["movenet-lightning", "movenet-thunder", "movenet-multipose"])
def test_stills_match_pose_detection(movenet_reference, parity_frames, name):
    model, config = _model(name)
    for label, image in parity_frames:
        theirs, _ = movenet_reference.estimate(image, name, stream="still", smoothing=False,
                                               reset=True)
        ours = _estimate(model, config, image, model.new_state(), None)
        _assert_same(ours, theirs, f"{name} {label}")


def test_multipose_sequence_matches_pose_detection(movenet_reference, sequence):
    model, config = _model("movenet-multipose")
    found = 0
    for k, image in enumerate(sequence):
        theirs, _ = movenet_reference.estimate(image, "movenet-multipose", smoothing=False)
        ours = _estimate(model, config, image, None, k * FRAME_MS / 1000)
        _assert_same(ours, theirs, f"multipose frame {k}")
        found += len(ours)
    assert found > 0


# Partly outside the image (zero extrapolation), zoomed in (upsampling, repeated corners),
# the whole frame (downsampling), and a box touching the last row and column.
BOXES = ((-0.13, 0.21, 0.77, 0.69), (0.41, 0.52, 0.55, 0.61), (0.0, 0.0, 1.0, 1.0),
         (0.6, 0.7, 1.0, 1.0))


@pytest.mark.parametrize("name", ["movenet-lightning", "movenet-multipose"])
def test_network_input_is_bit_exact(movenet_reference, sequence, name):
    image = sequence[5]
    h, w = image.shape[:2]
    if name == "movenet-multipose":
        pairs = [(image_ops.multipose_input(frame)[0], movenet_reference.preprocess(image, name))
                 for frame in (image, image.astype(np.float32))]
    else:
        pairs = [(image_ops.crop_and_resize(frame, box, (192, 192)),
                  movenet_reference.preprocess(image, name, box))
                 for box in BOXES for frame in (image, image.astype(np.float32))]
    for ours, theirs in pairs:      # uint8 frames and float ones take different gathers
        np.testing.assert_array_equal(ours, theirs)
    assert init_crop_region(True, w, h).width == pytest.approx(h / w)


@pytest.mark.parametrize("name", ["movenet-lightning", "movenet-thunder", "movenet-multipose"])
def test_converted_graph_matches_tfjs_on_real_input(movenet_reference, sequence, name):
    model, _ = _model(name)
    image = sequence[10]
    x = (image_ops.multipose_input(image)[0] if name.endswith("multipose") else
         image_ops.crop_and_resize(image, (0.2, 0.3, 0.8, 0.7), model._size))
    np.testing.assert_allclose(model._session.run(x), movenet_reference.execute(x, name),
                               atol=2e-5)
