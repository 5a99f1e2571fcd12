"""The MoveNet family: Lightning and Thunder (single pose, crop across frames) and MultiPose.

The converted graph decodes its own heads (:mod:`posenet_ros.convert.graph_convert`); this
family does what pose-detection 2.1.3 does around it (:mod:`posenet_ros.families.movenet`).
The graphs pin batch 1, so a batch runs frame by frame. Settings that are PoseNet's
(stride, decoder, resolution, thresholds) do not apply: MoveNet's input sizes and its 0.25
pose score floor are the reference's. ``EstimatorConfig.smoothing`` (default on, as
pose-detection) turns the single-pose keypoint filter on; it needs stamps. ``precision:
int8`` loads ``<name>-int8.onnx`` where ``posenet-ros convert --int8`` installed it (the
accuracy guard passed).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from posenet_ros.core import paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.pose import Pose
from posenet_ros.core.result import Decoding
from posenet_ros.families.base import PoseModel, Prepared
from posenet_ros.families.movenet import image_ops, multi_pose, NAMES, single_pose
from posenet_ros.families.movenet.session import MoveNetSession

OUTPUT = "output"


class MoveNet(PoseModel):
    """One MoveNet graph, by name (``movenet-thunder``) or converted file path."""

    output_stride = 4
    # Every pose it returns: MoveNet MultiPose has no low-score duplicates to keep out, and
    # on the TUNE scenes its floor tracked better than PoseNet's 0.3 (docs/tracking-eval.md).
    confident_pose_score = single_pose.DEFAULT_MIN_POSE_SCORE

    def __init__(self, config: EstimatorConfig) -> None:
        model = str(config.model)
        path = (paths.require_model(paths.movenet_model(model), config.precision,
                                    f"{model} model")
                if model in NAMES else Path(model))
        self._session = MoveNetSession(path, config.providers, config.device_id, config.threads,
                                       config.busy_wait, config.extra)
        self.name = path.stem if model in NAMES else path.name      # movenet-thunder(-int8)
        self.providers = list(self._session.providers)
        self.multi = self._session.fixed_size is None
        self._size = self._session.fixed_size

    def decoder(self, config: EstimatorConfig) -> str:
        return "multi" if self.multi else "single"

    def decoding(self, config: EstimatorConfig) -> Decoding:
        # pose-detection's own: a pose score floor, no NMS step, one pose or the graph's six.
        return Decoding(single_pose.DEFAULT_MIN_POSE_SCORE, 0.0,
                        multi_pose.MAX_POSES if self.multi else 1)

    def smooths(self, config: EstimatorConfig, stamp: float | None) -> bool:
        # pose-detection smooths single-pose keypoints only when frames carry timestamps.
        return not self.multi and config.smoothing and stamp is not None

    def new_state(self) -> Any:
        return None if self.multi else single_pose.SinglePoseState()

    def input_size(self, config: EstimatorConfig, image_width: int,
                   image_height: int) -> tuple[int, int]:
        if not self.multi:
            return self._size[1], self._size[0]
        ph, pw = image_ops.multipose_size(image_width, image_height, multi_pose.MAX_DIMENSION)[2:]
        return pw, ph

    def prepare(self, images: Sequence[np.ndarray], config: EstimatorConfig,
                states: Sequence[Any]) -> Prepared:
        feeds, geometry = [], []
        for image, state in zip(images, states):
            h, w = image.shape[:2]
            if self.multi:
                x, rh, rw, ph, pw = image_ops.multipose_input(image, multi_pose.MAX_DIMENSION)
                geometry.append(((w, h), (rh, rw), (ph, pw)))
            else:
                state = state if state is not None else single_pose.SinglePoseState()
                crop = state.region_for(w, h)
                x = image_ops.crop_and_resize(image, crop.box(), self._size)
                geometry.append(((w, h), crop, state))
            feeds.append(x)
        size = (feeds[0].shape[2], feeds[0].shape[1])
        return Prepared(feeds, geometry, size)

    def run(self, prepared: Prepared) -> dict[str, np.ndarray]:
        return {OUTPUT: np.concatenate([self._session.run(x) for x in prepared.feeds])}

    def decode(self, outputs: dict[str, np.ndarray], prepared: Prepared,
               config: EstimatorConfig, states: Sequence[Any],
               stamps: Sequence[float | None]) -> list[list[Pose]]:
        smoothing = config.smoothing
        found = []
        for i, (geometry, stamp) in enumerate(zip(prepared.geometry, stamps)):
            (w, h), *rest = geometry
            out = outputs[OUTPUT][i:i + 1]
            if self.multi:
                found.append(multi_pose.decode(out, *rest, w, h))
            else:
                crop, state = rest
                found.append(single_pose.decode(out, state, crop, w, h, stamp, smoothing))
        return found
