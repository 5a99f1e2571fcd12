"""The int8 accuracy guard: how far int8 poses stray from fp32 poses on the same frames.

It runs both models through the estimator, so it lives here, above the engine, and not in
model/ (which only builds files and sits below the engine). PoseNet decodes each frame on its
own; MoveNet gets the frames as one stream in order (stamps ``STREAM_PERIOD_S`` apart), so each
model follows the person with the crops it chooses itself, as it would on a camera.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.pose import Pose

# Below these the int8 model is refused rather than installed.
MIN_WITHIN_3PX = 0.5
MIN_POSE_COUNT_AGREEMENT = 0.5
CONFIDENT_SCORE = 0.5       # fp32 keypoints at least this sure are the ones compared
CLOSE_PX = 3.0
# MoveNet: the spread frames as one stream stamped as a 25 frames/s camera would (the bench too).
FRAME_S = 0.04
STREAM_PERIOD_S = FRAME_S


@dataclass(frozen=True)
class Guard:
    """How int8 poses compare with fp32 on held-out frames."""

    frames: int
    keypoints: int              # keypoints with score >= CONFIDENT_SCORE in fp32
    within_3px: float           # share of those the int8 model places within CLOSE_PX
    pose_count_agreement: float  # share of frames with the same number of poses
    max_pose_score_diff: float

    @property
    def passed(self) -> bool:
        return (self.within_3px >= MIN_WITHIN_3PX
                and self.pose_count_agreement >= MIN_POSE_COUNT_AGREEMENT)

    def __str__(self) -> str:
        return (f"int8 vs fp32 on {self.frames} held-out frames: {self.within_3px:.1%} of "
                f"{self.keypoints} confident keypoints within 3 px, pose count equal on "
                f"{self.pose_count_agreement:.0%} of frames, "
                f"max pose score diff {self.max_pose_score_diff:.3f}")


def accuracy_guard(fp32_model: str | Path, int8_model: str | Path, frames: list[np.ndarray],
                   resolution: int = 257) -> Guard:
    """Compare both models' poses frame by frame, pairing each fp32 pose with the nearest int8 one.

    PoseNet: multi-pose decoding at ``resolution``. MoveNet: the model's own input, ``frames``
    one stream in order.
    """
    from posenet_ros.estimator import PoseEstimator
    from posenet_ros.families import family_of, MOVENET
    from posenet_ros.convert.metadata import read_metadata

    stamps: list[float | None] = [None] * len(frames)
    if family_of(fp32_model) == MOVENET:
        base = EstimatorConfig(providers=("cpu",))
        stamps = [i * STREAM_PERIOD_S for i in range(len(frames))]
    else:
        meta = read_metadata(fp32_model)
        base = EstimatorConfig(providers=("cpu",), input_resolution=resolution,
                               output_stride=int(meta.get("output_stride", 16)))
    ref = PoseEstimator(base.replace(model=str(fp32_model)))
    q = PoseEstimator(base.replace(model=str(int8_model)))
    confident = close = same_count = 0
    score_diff = 0.0
    for frame, stamp in zip(frames, stamps):
        a, b = _poses(ref, frame, stamp), _poses(q, frame, stamp)
        same_count += len(a) == len(b)
        for pa, pb in _pairs(a, b):
            mask = pa.keypoint_scores >= CONFIDENT_SCORE
            dist = np.linalg.norm(pa.positions[mask] - pb.positions[mask], axis=1)
            confident += int(mask.sum())
            close += int((dist <= CLOSE_PX).sum())
            score_diff = max(score_diff, abs(pa.score - pb.score))
    return Guard(len(frames), confident, close / max(confident, 1),
                 same_count / max(len(frames), 1), score_diff)


def _poses(estimator, frame: np.ndarray, stamp: float | None) -> list[Pose]:
    return list(estimator.estimate(frame, stamp).poses)


def _pairs(a: list[Pose], b: list[Pose]) -> list[tuple[Pose, Pose]]:
    """Greedy nearest pairing by mean keypoint distance (poses may swap rank between models)."""
    pairs, free = [], list(b)
    for pose in a:
        if not free:
            break
        best = min(free, key=lambda other: float(
            np.mean(np.linalg.norm(pose.positions - other.positions, axis=1))))
        free.remove(best)
        pairs.append((pose, best))
    return pairs
