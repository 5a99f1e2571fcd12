"""The seam between the engine and a model family (PoseNet, MoveNet, ...).

A family is how one kind of network turns RGB frames into poses: its own preprocessing, its
outputs and its decoding. Everything around it is shared: the ONNX Runtime session handling
(:mod:`posenet_ros.runtime.session`), the result type, messages, CLI, node and bag tool. The
estimator drives a family in three timed steps, one batch of same-size frames at a time::

    prepared = model.prepare(images, config)            # RGB frames -> network feeds
    outputs = model.run(prepared)                       # ONNX Runtime
    poses = model.decode(outputs, prepared, config, states, stamps)   # -> Pose per image

Families with memory across frames (MoveNet single-pose keeps a crop region and smoothing
filters per camera) return a fresh per-stream object from :meth:`PoseModel.new_state`; the
estimator keeps one per stream, passes it in with every frame of that stream, and starts a
new one when the stream's stamps go backwards.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.pose import Pose
from posenet_ros.core.result import Decoding


@dataclass(frozen=True, eq=False)
class Prepared:
    """What ``prepare`` made of a batch: the network feeds and each image's geometry."""

    feeds: Any                      # whatever the family's run() takes
    geometry: Sequence[Any]         # one entry per image (e.g. a Letterbox), for decoding
    input_size: tuple[int, int]     # network input (width, height) of the batch


class PoseModel(ABC):
    """A loaded model of one family. Not thread-safe: one batch at a time."""

    #: Name for messages and logs (e.g. the ONNX file name).
    name: str
    #: ONNX Runtime providers in the order the session uses them.
    providers: list[str]
    #: Pixels of the input per output cell (PoseNet 8/16/32; MoveNet 4).
    output_stride: int
    #: Pose score from which this family's poses are confident enough to start a track (the
    #: tracker's ``high_pose_score`` when left to the model): pose scores are on each
    #: family's own scale. PoseNet's, chosen on the tracking TUNE scenes (docs/tracking-eval.md).
    confident_pose_score: float = 0.3

    def new_state(self) -> Any:
        """Per-stream memory across frames; None for a family without any."""
        return None

    def decoder(self, config: EstimatorConfig) -> str:
        """How poses were decoded, for messages: ``single`` or ``multi``."""
        return config.decoder

    def decoding(self, config: EstimatorConfig) -> Decoding:
        """Return the decoding settings this family applies under ``config`` (for messages)."""
        return Decoding(config.score_threshold, config.nms_radius, config.max_detections)

    def smooths(self, config: EstimatorConfig, stamp: float | None) -> bool:
        """Whether the family itself smooths keypoints across frames for this frame."""
        return False

    @abstractmethod
    def input_size(self, config: EstimatorConfig, image_width: int,
                   image_height: int) -> tuple[int, int]:
        """Network input (width, height) for an image of that size."""

    @abstractmethod
    def prepare(self, images: Sequence[np.ndarray], config: EstimatorConfig,
                states: Sequence[Any]) -> Prepared:
        """Turn same-size HxWx3 RGB frames into the network's feeds."""

    @abstractmethod
    def run(self, prepared: Prepared) -> dict[str, np.ndarray]:
        """Run the network; outputs by name, batch first (valid until the next run)."""

    @abstractmethod
    def decode(self, outputs: dict[str, np.ndarray], prepared: Prepared,
               config: EstimatorConfig, states: Sequence[Any],
               stamps: Sequence[float | None]) -> list[list[Pose]]:
        """Poses in image pixels per image, in decoding order; may update each image's state."""
