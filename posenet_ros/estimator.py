"""The engine's facade: RGB images in, one :class:`~posenet_ros.core.result.FrameResult` each out.

The first stage of :class:`~posenet_ros.stages.pipeline.PosePipeline`, which every front end
calls; a library user may call it alone. It holds the configuration and the loaded
model of its family (:mod:`posenet_ros.families`) and, per stream, the memory a family keeps
across frames. Decoder settings change per call at no cost; a new model, stride, provider
list or thread count needs a new session, which :meth:`PoseEstimator.with_config` builds in
the caller's thread while frames keep flowing through the old estimator: the caller swaps the
new one in between batches, so a parameter change never stalls the frame path.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
import logging
import time
from typing import Any

import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.errors import ImageError
from posenet_ros.core.result import FrameResult, StageTimes
from posenet_ros.families import load_model
from posenet_ros.families.base import PoseModel

log = logging.getLogger(__name__)

# Settings that need a new ONNX Runtime session when they change.
SESSION_SETTINGS = ("model", "precision", "output_stride", "providers", "device_id", "threads",
                    "busy_wait", "extra", "preprocess")
MAX_IMAGE_SIDE = 16384
DEFAULT_STREAM = "default"


class PoseEstimator:
    """Pose estimation on ONNX Runtime.

    One thread may estimate while another reconfigures; two estimating threads need one
    estimator each (or a lock).
    """

    def __init__(self, config: EstimatorConfig | None = None, **changes) -> None:
        config = (config or EstimatorConfig()).replace(**changes)
        # One tuple, swapped whole: a batch uses the config and model it started with.
        self._active: tuple[EstimatorConfig, PoseModel] = (config, _load(config))
        self._states: dict[Hashable, tuple[Any, float | None]] = {}

    @property
    def config(self) -> EstimatorConfig:
        return self._active[0]

    @property
    def model_name(self) -> str:
        return self._active[1].name

    @property
    def confident_pose_score(self) -> float:
        """Return the model's pose score from which a pose may start a track (its scale)."""
        return self._active[1].confident_pose_score

    @property
    def providers(self) -> list[str]:
        return list(self._active[1].providers)

    def input_size(self, image_width: int, image_height: int) -> tuple[int, int]:
        config, model = self._active
        return model.input_size(config, image_width, image_height)

    def reconfigure(self, **changes) -> EstimatorConfig:
        """Apply validated changes; on any error the previous configuration stays in force."""
        new = self.with_config(self.config.replace(**changes))
        self._active, self._states = new._active, new._states
        return new.config

    def with_config(self, config: EstimatorConfig) -> PoseEstimator:
        """Return an estimator for ``config``, leaving this one as it is.

        It shares this one's model, and each stream's memory, unless a session setting
        changed; then it loads the model (raising ConfigError or ModelError on failure).
        """
        current, model = self._active
        new = PoseEstimator.__new__(PoseEstimator)
        if any(getattr(config, k) != getattr(current, k) for k in SESSION_SETTINGS):
            new._active, new._states = (config, _load(config)), {}
        else:
            new._active, new._states = (config, model), self._states
        return new

    def reset(self, stream: Hashable = DEFAULT_STREAM) -> None:
        """Forget a stream's memory across frames (a new video, a bag restart)."""
        self._states.pop(stream, None)

    def estimate(self, image: np.ndarray, stamp: float | None = None,
                 stream: Hashable = DEFAULT_STREAM) -> FrameResult:
        """Poses in ``image`` (HxWx3 RGB uint8; float 0..255 is accepted too).

        ``stamp`` (seconds, e.g. the message stamp) and ``stream`` matter to families that
        follow a person across frames; a stamp older than the stream's last one resets it.
        """
        return self.estimate_batch([image], [stamp], [stream])[0]

    def estimate_batch(self, images: Sequence[np.ndarray],
                       stamps: Sequence[float | None] | None = None,
                       streams: Sequence[Hashable] | None = None) -> list[FrameResult]:
        """One inference for several images of one network input size (e.g. camera streams)."""
        config, model = self._active
        stamps = list(stamps) if stamps is not None else [None] * len(images)
        streams = list(streams) if streams is not None else [DEFAULT_STREAM] * len(images)
        if not len(images) == len(stamps) == len(streams):
            raise ValueError("images, stamps and streams differ in length")
        t0 = time.perf_counter()
        for image in images:
            check_image(image)
        states = [self._state(model, s, t) for s, t in zip(streams, stamps)]
        prepared = model.prepare(images, config, states)
        t1 = time.perf_counter()
        outputs = model.run(prepared)
        t2 = time.perf_counter()
        found = model.decode(outputs, prepared, config, states, stamps)
        times = StageTimes(t1 - t0, t2 - t1, time.perf_counter() - t2)
        decoder, decoding = model.decoder(config), model.decoding(config)
        return [FrameResult(tuple(poses), (img.shape[1], img.shape[0]), prepared.input_size,
                            config, model.name, model.output_stride, times, decoder,
                            model.smooths(config, stamp), stamp, decoding)
                for img, poses, stamp in zip(images, found, stamps)]

    def _state(self, model: PoseModel, stream: Hashable, stamp: float | None) -> Any:
        state, last = self._states.get(stream, (None, None))
        if state is None or (stamp is not None and last is not None and stamp < last):
            state = model.new_state()
        self._states[stream] = (state, stamp if stamp is not None else last)
        return state


def _load(config: EstimatorConfig) -> PoseModel:
    model = load_model(config)
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
