"""Accuracy on what this machine has: no keypoint labels, so counts and agreement, as proxies.

No COCO keypoint data ships in any package checked (see ENVIRONMENT.md); the published
figures (COCO val2017 single-person: PoseNet MobileNetV1 45.6 mAP, Lightning 63.0, Thunder
72.0) stay the real measure. Here, two proxies:

- **people per frame** on vtest.avi (pedestrians about 60 px tall in 768x576) at each model's
  default size, the frames run as one video stream; single-pose models find at most one;
- **agreement with Thunder** (the most accurate model by the published figures) on the stills
  and a few vtest frames, each image on its own: of Thunder's confident keypoints (score >=
  0.3), the share the model also finds confidently (>= 0.3) within 5 and 15 px, and the median
  distance of those it finds. Each Thunder pose is compared with the model's pose nearest to
  it (mean distance over the keypoints both find). This measures agreement, not correctness.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from posenet_ros.bench.movenet_speed import FRAME_S
from posenet_ros.core import paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.pose import Pose
from posenet_ros.estimator import PoseEstimator
from posenet_ros.families import MOVENET, NAMES_BY_FAMILY

CONFIDENT = 0.3
NEAR_PX = (5.0, 15.0)
REFERENCE = "movenet-thunder"


@dataclass
class AccuracyRow:
    label: str
    people_per_frame: float
    within: dict            # "5px" / "15px" -> share of Thunder's confident keypoints
    median_px: float | None
    keypoints: int          # Thunder's confident keypoints compared

    def to_json(self) -> dict:
        return asdict(self)


def candidates(providers: tuple[str, ...], threads: int) -> dict[str, EstimatorConfig]:
    """Each model at its default size (PoseNet at 257, TF.js's default, and at 513).

    int8 models follow where ``posenet-ros convert --int8`` installed them (the guard passed).
    """
    base = EstimatorConfig(providers=providers, threads=threads)
    configs = {"posenet 257": base, "posenet 513": base.replace(input_resolution=513),
               "movenet-lightning": base.replace(model="movenet-lightning"),
               REFERENCE: base.replace(model=REFERENCE),
               "movenet-multipose": base.replace(model="movenet-multipose")}
    for label, config in list(configs.items()):
        if label != "posenet 513" and installed_int8(config):
            configs[f"{label} int8"] = config.replace(precision="int8")
    return configs


def installed_int8(config: EstimatorConfig) -> bool:
    """Whether the int8 copy of ``config``'s named model is installed."""
    if config.model in NAMES_BY_FAMILY[MOVENET]:
        return paths.movenet_model(config.model, quantized=True).is_file()
    return paths.default_model(config.output_stride, quantized=True).is_file()


def people_per_frame(estimator: PoseEstimator, video_frames: list[np.ndarray]) -> float:
    """Mean poses per frame over ``video_frames`` run as one stream."""
    counts = [len(estimator.estimate(f, stamp=i * FRAME_S, stream="people").poses)
              for i, f in enumerate(video_frames)]
    estimator.reset("people")
    return float(np.mean(counts))


def still_poses(estimator: PoseEstimator, stills: list[np.ndarray]) -> list[tuple[Pose, ...]]:
    """Poses per image, each image its own stream (no crop or smoothing carried over)."""
    found = []
    for k, image in enumerate(stills):
        found.append(estimator.estimate(image, stream=("still", k)).poses)
        estimator.reset(("still", k))
    return found


def agreement(theirs: list[tuple[Pose, ...]], ours: list[tuple[Pose, ...]]) -> tuple:
    """(within-share dict, median px or None, keypoints compared) against ``theirs``."""
    distances, total = [], 0
    for ref_poses, poses in zip(theirs, ours):
        for ref in ref_poses:
            confident = ref.keypoint_scores >= CONFIDENT
            total += int(confident.sum())
            best = _nearest(ref, poses, confident)
            if best is None:
                continue
            found = confident & (best.keypoint_scores >= CONFIDENT)
            distances += np.linalg.norm(best.positions[found] - ref.positions[found],
                                        axis=1).tolist()
    d = np.asarray(distances)
    within = {f"{px:g}px": (float((d <= px).sum()) / total if total else 0.0) for px in NEAR_PX}
    return within, (float(np.median(d)) if len(d) else None), total


def _nearest(ref: Pose, poses: tuple[Pose, ...], confident: np.ndarray) -> Pose | None:
    best, best_d = None, np.inf
    for pose in poses:
        both = confident & (pose.keypoint_scores >= CONFIDENT)
        if not both.any():
            continue
        d = float(np.linalg.norm(pose.positions[both] - ref.positions[both], axis=1).mean())
        if d < best_d:
            best, best_d = pose, d
    return best


def accuracy_table(video_frames: list[np.ndarray], stills: list[np.ndarray],
                   providers: tuple[str, ...] = ("cpu",), threads: int = 0) -> list[AccuracyRow]:
    """One row per model: people per frame on the video, agreement with Thunder on stills."""
    found, people = {}, {}
    for label, config in candidates(providers, threads).items():
        estimator = PoseEstimator(config)
        people[label] = people_per_frame(estimator, video_frames)
        found[label] = still_poses(estimator, stills)
    rows = []
    for label in found:
        within, median, total = agreement(found[REFERENCE], found[label])
        rows.append(AccuracyRow(label, people[label], within, median, total))
    return rows


HEADER = (f"{'model':>20} | {'people/frame':>12} | {'<=5px':>6} {'<=15px':>6} {'median':>7} "
          f"(of Thunder's confident keypoints)")


def format_row(r: AccuracyRow) -> str:
    """One line of the accuracy table."""
    median = f"{r.median_px:5.1f}px" if r.median_px is not None else "      -"
    return (f"{r.label:>20} | {r.people_per_frame:12.2f} | {r.within['5px']:6.1%} "
            f"{r.within['15px']:6.1%} {median}")
