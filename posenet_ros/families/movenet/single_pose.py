"""Single-pose MoveNet across frames: pose-detection 2.1.3 ``estimateSinglePose``.

Per stream, a :class:`SinglePoseState` keeps the crop region (low-pass filtered) and the
keypoint One Euro filters. Each frame is cropped to the region, the graph gives 17 (y, x,
score) in the crop, and the next region is fitted around the (smoothed) keypoints. A frame
whose pose scores under ``min_pose_score`` yields no pose and resets the stream, as the
reference does. Arithmetic in doubles, in the reference's order.
"""
from __future__ import annotations

import numpy as np

from posenet_ros.core.pose import Pose
from posenet_ros.families.movenet.crop_region import (
    CropRegion, CropRegionFilter, init_crop_region, MIN_CROP_KEYPOINT_SCORE, next_crop_region)
from posenet_ros.filters.keypoints_one_euro import KeypointsOneEuroFilter
from posenet_ros.filters.one_euro import MOVENET_KEYPOINT_FILTER

DEFAULT_MIN_POSE_SCORE = 0.25


class SinglePoseState:
    """A stream's crop region and filters (None region: the next frame is a first frame)."""

    def __init__(self) -> None:
        self.crop: CropRegion | None = None
        self.crop_filter = CropRegionFilter()
        self.keypoint_filter = KeypointsOneEuroFilter(MOVENET_KEYPOINT_FILTER)

    def region_for(self, width: int, height: int) -> CropRegion:
        """Return the crop for this frame (the centred square on a first frame)."""
        if self.crop is None:
            self.crop = init_crop_region(True, width, height)
        return self.crop

    def reset(self) -> None:
        self.crop = None
        self.keypoint_filter.reset()
        self.crop_filter.reset()


def pose_score(scores: np.ndarray) -> float:
    """Mean of the keypoint scores above 0.2, summed in order as the reference (0 if none)."""
    total, count = 0.0, 0
    for s in scores.tolist():       # float32 values as exact doubles, as JavaScript sums them
        if s > MIN_CROP_KEYPOINT_SCORE:
            total += s
            count += 1
    return total / count if count else total


def decode(output: np.ndarray, state: SinglePoseState, crop: CropRegion, width: int,
           height: int, stamp: float | None, smoothing: bool,
           min_pose_score: float = DEFAULT_MIN_POSE_SCORE) -> list[Pose]:
    """Turn the graph's [1, 1, 17, 3] output into at most one pose in pixels.

    ``stamp`` (seconds) drives the smoothing; without one the keypoints are not smoothed, as
    pose-detection skips its filter when estimatePoses gets no timestamp.
    """
    kp = np.asarray(output, np.float64).reshape(17, 3)
    scores = kp[:, 2].copy()
    score = pose_score(kp[:, 2].astype(np.float32))
    if score < min_pose_score:
        state.reset()
        return []
    y = crop.y_min + kp[:, 0] * crop.height
    x = crop.x_min + kp[:, 1] * crop.width
    if stamp is not None and smoothing:
        smoothed = state.keypoint_filter.apply(np.stack([x, y], axis=1), stamp * 1e6, 1.0)
        x, y = smoothed[:, 0], smoothed[:, 1]
    state.crop = state.crop_filter.apply(
        next_crop_region(crop, np.stack([y, x], axis=1), scores, width, height))
    return [Pose(score, np.stack([x * width, y * height], axis=1), scores)]
