"""The engine's facade: an RGB image in, poses in image pixels out.

What the CLI, the ROS node and the bag tool call. It owns the ONNX session and the
preprocessing buffers; decoder settings change per call at no cost, while a new model, stride,
provider list or thread count rebuilds the session (on the next frame's thread, not mid-frame).
"""
from __future__ import annotations

import logging
import time

import numpy as np

from posenet_ros import paths
from posenet_ros.config import ConfigError, EstimatorConfig
from posenet_ros.decode import decode_multiple_poses, decode_single_pose
from posenet_ros.errors import ImageError
from posenet_ros.model import io_names
from posenet_ros.pose import Pose
from posenet_ros.preprocess import Letterbox, letterbox, Preprocessor, to_image_coords
from posenet_ros.runtime import PoseNetModel

log = logging.getLogger(__name__)

# Settings that need a new ONNX Runtime session when they change.
SESSION_SETTINGS = ("model", "precision", "output_stride", "providers", "device_id", "threads",
                    "busy_wait", "extra", "preprocess")
MAX_IMAGE_SIDE = 16384


class PoseEstimator:
    """PoseNet on ONNX Runtime. Not thread-safe: use one per thread or serialise calls."""

    def __init__(self, config: EstimatorConfig | None = None, **changes) -> None:
        self.config = (config or EstimatorConfig()).replace(**changes)
        self._model = self._load(self.config)
        self._preprocess = Preprocessor()
        self.last_timings: dict[str, float] = {}

    @property
    def model_name(self) -> str:
        return self._model.name

    @property
    def providers(self) -> list[str]:
        return list(self._model.providers)

    def input_size(self, image_width: int, image_height: int) -> tuple[int, int]:
        return self.config.input_size(image_width, image_height)

    def reconfigure(self, **changes) -> EstimatorConfig:
        """Apply validated changes; on any error the previous configuration stays in force."""
        new = self.config.replace(**changes)
        if any(getattr(new, k) != getattr(self.config, k) for k in SESSION_SETTINGS):
            self._model = self._load(new)
        self.config = new
        return new

    def estimate(self, image: np.ndarray) -> list[Pose]:
        """Poses in ``image`` (HxWx3 RGB uint8; float 0..255 is accepted too), best first."""
        return self.estimate_batch([image])[0]

    def estimate_batch(self, images: list[np.ndarray]) -> list[list[Pose]]:
        """One inference for several images of one network input size (e.g. camera streams)."""
        t0 = time.perf_counter()
        boxes = [self._letterbox(check_image(img)) for img in images]
        if len({(b.input_width, b.input_height) for b in boxes}) > 1:
            raise ImageError("images in one batch must map to the same network input size")
        if self._model.device_preprocess:
            frames = self._stack_frames(images, boxes)
            t1 = time.perf_counter()
            out = self._model.run_frames(frames, boxes[0])
        else:
            batch = self._preprocess.batch(len(images), boxes[0])
            for img, box, slot in zip(images, boxes, batch):
                self._preprocess(img, box, out=slot)
            t1 = time.perf_counter()
            out = self._model.run(batch)
        t2 = time.perf_counter()
        results = [self._decode({k: v[i] for k, v in out.items()}, box)
                   for i, box in enumerate(boxes)]
        t3 = time.perf_counter()
        self.last_timings = {"preprocess": t1 - t0, "inference": t2 - t1, "decode": t3 - t2}
        return results

    @staticmethod
    def _stack_frames(images: list[np.ndarray], boxes: list[Letterbox]) -> np.ndarray:
        if any(img.shape != images[0].shape for img in images):
            raise ImageError("device preprocessing batches frames of one size; got several sizes")
        if images[0].dtype != np.uint8:
            raise ImageError("device preprocessing takes uint8 frames")
        return images[0][None] if len(images) == 1 else np.stack(images)

    def _letterbox(self, image: np.ndarray) -> Letterbox:
        h, w = image.shape[:2]
        return letterbox(w, h, *self.config.input_size(w, h))

    def _decode(self, out: dict[str, np.ndarray], box: Letterbox) -> list[Pose]:
        cfg, stride = self.config, self._model.output_stride
        heatmap, offsets = out[io_names.HEATMAP], out[io_names.OFFSETS]
        if cfg.decoder == "single":
            found = [decode_single_pose(heatmap, offsets, stride)]
        else:
            found = decode_multiple_poses(
                heatmap, offsets, out[io_names.DISPLACEMENT_FWD], out[io_names.DISPLACEMENT_BWD],
                stride, cfg.max_detections, cfg.score_threshold, cfg.nms_radius)
        return [Pose(score, to_image_coords(xy, box, cfg.flip_horizontal), scores)
                for score, xy, scores in found]

    @staticmethod
    def _load(cfg: EstimatorConfig) -> PoseNetModel:
        int8 = cfg.precision == "int8"
        path = cfg.model or paths.require(
            paths.default_model(cfg.output_stride, quantized=int8),
            "int8 PoseNet model (`posenet-ros convert --int8`)" if int8 else "PoseNet ONNX model")
        device = {"device": True, "host": False, "auto": None}[cfg.preprocess]
        model = PoseNetModel(path, cfg.providers, cfg.device_id, cfg.threads, cfg.output_stride,
                             cfg.extra, device_preprocess=device, busy_wait=cfg.busy_wait)
        if model.output_stride != cfg.output_stride:
            raise ConfigError(f"{model.name} has output stride {model.output_stride}, "
                              f"but output_stride is {cfg.output_stride}")
        log.info("loaded %s on %s", model.name, model.providers[0])
        return model


def check_image(image: np.ndarray) -> np.ndarray:
    """Reject what the pipeline cannot use with a message that says what was received."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ImageError(f"image is empty ({w}x{h})")
    if max(h, w) > MAX_IMAGE_SIDE:
        raise ImageError(f"image {w}x{h} exceeds {MAX_IMAGE_SIDE} px per side")
    if image.dtype != np.uint8 and image.dtype.kind != "f":
        raise ImageError(f"expected uint8 (or float 0..255) pixels, got {image.dtype}; "
                         "convert 16-bit images to 8 bits first")
    return image
