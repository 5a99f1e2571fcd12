"""The engine's output for one frame: the poses plus everything needed to interpret them.

The node's messages, the bag tool's outputs and the bench all take this one value, so none of
them reads the estimator's state after the call or recomputes the network input size.
"""
from __future__ import annotations

from dataclasses import dataclass

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.pose import Pose


@dataclass(frozen=True)
class Decoding:
    """The decoding settings in force for a frame, as its family applies them (for messages)."""

    score_threshold: float      # the lowest pose (or root keypoint) score kept
    nms_radius: float           # pixels; 0 where the family has no such step
    max_detections: int


@dataclass(frozen=True)
class StageTimes:
    """Seconds spent in each engine stage for the batch this frame was part of."""

    preprocess: float = 0.0
    inference: float = 0.0
    decode: float = 0.0

    @property
    def total(self) -> float:
        return self.preprocess + self.inference + self.decode


@dataclass(frozen=True, eq=False)
class FrameResult:
    """Poses found in one image, in decoding order (as tfjs returns them), and how.

    ``image_size`` and ``input_size`` are (width, height): the image the keypoint pixels refer
    to, and the network input it was resized to. ``decoder`` is how the model decoded them
    (``single`` or ``multi``), ``smoothed`` whether the model smoothed them across frames
    (MoveNet single pose). ``stamp`` is the caller's stamp (seconds) or None. ``decoding`` is
    what the family's decoder applied (MoveNet's own floor, not PoseNet's thresholds).
    """

    poses: tuple[Pose, ...]
    image_size: tuple[int, int]
    input_size: tuple[int, int]
    config: EstimatorConfig
    model: str
    output_stride: int
    times: StageTimes
    decoder: str = "multi"
    smoothed: bool = False
    stamp: float | None = None
    decoding: Decoding | None = None   # None: the config's PoseNet settings
