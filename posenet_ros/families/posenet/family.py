"""The PoseNet family: tfjs pad-and-resize, four heads, TF.js PoseNet 2.2.2's two decoders."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
import logging
from typing import Any

import numpy as np

from posenet_ros.convert import io_names
from posenet_ros.core import paths
from posenet_ros.core.config import ConfigError, EstimatorConfig
from posenet_ros.core.errors import ImageError
from posenet_ros.core.pose import Pose
from posenet_ros.families.base import PoseModel, Prepared
from posenet_ros.families.posenet.decode import decode_multiple_poses, decode_single_pose
from posenet_ros.families.posenet.preprocess import (
    Letterbox, letterbox, Preprocessor, to_image_coords)
from posenet_ros.families.posenet.session import PoseNetModel

log = logging.getLogger(__name__)

NAME = "posenet"


class PoseNet(PoseModel):
    """PoseNet MobileNetV1 (or any ONNX/TF.js model with its four outputs)."""

    def __init__(self, config: EstimatorConfig) -> None:
        path = config.model if config.model not in (None, NAME) else paths.require_model(
            paths.default_model(config.output_stride), config.precision,
            f"PoseNet model (stride {config.output_stride})")
        device = {"device": True, "host": False, "auto": None}[config.preprocess]
        self._model = PoseNetModel(path, config.providers, config.device_id, config.threads,
                                   config.output_stride, config.extra, device_preprocess=device,
                                   busy_wait=config.busy_wait)
        if self._model.output_stride != config.output_stride:
            raise ConfigError(f"{self._model.name} has output stride {self._model.output_stride},"
                              f" but output_stride is {config.output_stride}")
        self.name = self._model.name
        self.providers = list(self._model.providers)
        self.output_stride = self._model.output_stride
        self._preprocess = Preprocessor()

    def input_size(self, config: EstimatorConfig, image_width: int,
                   image_height: int) -> tuple[int, int]:
        return config.input_size(image_width, image_height)

    def prepare(self, images: Sequence[np.ndarray], config: EstimatorConfig,
                states: Sequence[Any]) -> Prepared:
        boxes = [letterbox(img.shape[1], img.shape[0],
                           *config.input_size(img.shape[1], img.shape[0])) for img in images]
        size = (boxes[0].input_width, boxes[0].input_height)
        if any((b.input_width, b.input_height) != size for b in boxes):
            raise ImageError("images in one batch must map to the same network input size")
        if self._model.device_preprocess:
            return Prepared(_stack_frames(images), boxes, size)
        batch = self._preprocess.batch(len(images), boxes[0])
        for img, box, slot in zip(images, boxes, batch):
            self._preprocess(img, box, out=slot)
        return Prepared(batch, boxes, size)

    def run(self, prepared: Prepared) -> dict[str, np.ndarray]:
        if self._model.device_preprocess:
            return self._model.run_frames(prepared.feeds, prepared.geometry[0])
        return self._model.run(prepared.feeds)

    def decode(self, outputs: dict[str, np.ndarray], prepared: Prepared,
               config: EstimatorConfig, states: Sequence[Any],
               stamps: Sequence[float | None]) -> list[list[Pose]]:
        return [self._decode_one({k: v[i] for k, v in outputs.items()}, box, config)
                for i, box in enumerate(prepared.geometry)]

    def _decode_one(self, out: dict[str, np.ndarray], box: Letterbox,
                    cfg: EstimatorConfig) -> list[Pose]:
        heatmap, offsets = out[io_names.HEATMAP], out[io_names.OFFSETS]
        if cfg.decoder == "single":
            found = [decode_single_pose(heatmap, offsets, self.output_stride)]
        else:
            found = decode_multiple_poses(
                heatmap, offsets, out[io_names.DISPLACEMENT_FWD], out[io_names.DISPLACEMENT_BWD],
                self.output_stride, cfg.max_detections, cfg.score_threshold, cfg.nms_radius)
        return [replace(pose, positions=to_image_coords(pose.positions, box, cfg.flip_horizontal))
                for pose in found]


def _stack_frames(images: Sequence[np.ndarray]) -> np.ndarray:
    if any(img.shape != images[0].shape for img in images):
        raise ImageError("device preprocessing batches frames of one size; got several sizes")
    if images[0].dtype != np.uint8:
        raise ImageError("device preprocessing takes uint8 frames")
    return images[0][None] if len(images) == 1 else np.stack(images)
