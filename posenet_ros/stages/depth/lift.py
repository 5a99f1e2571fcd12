"""Keypoints to 3D: robust depth sampling around each keypoint, then back-projection.

Depth is read in a window around each keypoint (a keypoint sits on a limb's edge as often
as on it), never at one pixel and never from a point cloud (yolo_ros #11 indexed a cloud out
of range). Samples that are missing (0, NaN, inf) or outside ``[min_range, max_range]`` are
dropped; the median of the rest is the keypoint's first estimate. The person's own depth is
the median of those estimates over the torso (shoulders and hips; all keypoints when the
torso has none), and a second pass keeps only samples within ``outlier_band`` of it, so the
background behind a wrist or the floor under an ankle does not become the keypoint's depth.
The keypoint's depth is then the mean of those samples less the top and bottom 10 %: robust
to what the band lets through, and less noisy than the median (with +-5 % uniform per-pixel
noise, 15 % holes and a limb edge through the window, the worst keypoint over 24 scenes was
off by 3.0 % with the median and 1.6 % with this, window radius 4).

Depth is registered to the colour image (the usual RGB-D driver output) but may have
another size: pixels are scaled by the size ratio, or mapped through the depth CameraInfo
when one is given. Back-projection uses the colour camera (K, and D when the image is not
rectified) via :class:`~posenet_ros.camera.intrinsics.CameraModel`. Points are in the
colour camera's optical frame (x right, y down, z forward), metres; z is the depth value itself
(ROS depth images store z, not range).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core.config import ConfigError
from posenet_ros.core.keypoints import NUM_KEYPOINTS, PART_IDS
from posenet_ros.core.pose import Pose
from posenet_ros.stages.depth.pairing import DEFAULT_BUFFER, DEFAULT_TOLERANCE_S

TORSO = tuple(PART_IDS[name] for name in
              ("leftShoulder", "rightShoulder", "leftHip", "rightHip"))
TRIM = 0.1   # fraction of samples dropped at each end of a keypoint's window


@dataclass(frozen=True)
class DepthConfig:
    """How depth is paired and sampled; every bound is checked here."""

    tolerance_s: float = DEFAULT_TOLERANCE_S   # colour-depth stamp difference accepted
    buffer: int = DEFAULT_BUFFER               # depth frames kept for pairing
    window: int = 4          # sampling window radius in depth pixels (9x9)
    min_samples: int = 3     # fewer valid samples in the window: keypoint not valid
    min_range: float = 0.2   # metres; nearer is sensor noise for every common RGB-D camera
    max_range: float = 10.0  # metres; farther is unreliable
    outlier_band: float = 0.6   # metres from the person's torso depth a keypoint may lie
    min_keypoint_score: float = 0.3   # keypoints below are not lifted

    def __post_init__(self) -> None:
        checks = (
            ("tolerance_s", 0.0 <= self.tolerance_s <= 1.0, "[0, 1] s"),
            ("buffer", 1 <= self.buffer <= 100, "[1, 100] frames"),
            ("window", 0 <= self.window <= 20, "[0, 20] px"),
            ("min_samples", 1 <= self.min_samples <= (2 * self.window + 1) ** 2,
             "[1, window area]"),
            ("min_range", 0.0 < self.min_range < self.max_range, "(0, max_range)"),
            ("max_range", self.max_range <= 100.0, "(min_range, 100] m"),
            ("outlier_band", 0.01 <= self.outlier_band <= 10.0, "[0.01, 10] m"),
            ("min_keypoint_score", 0.0 <= self.min_keypoint_score <= 1.0, "[0, 1]"),
        )
        for name, ok, valid in checks:
            if not ok:
                raise ConfigError(f"depth {name} {getattr(self, name)} is out of range {valid}")


@dataclass(frozen=True, eq=False)
class Person3D:
    """One person's keypoints in 3D (optical frame, metres) and where the person is."""

    points: np.ndarray       # (17, 3) x, y, z; zeros where not valid
    valid: np.ndarray        # (17,) bool
    position: np.ndarray     # (3,) torso centroid (or of all valid keypoints); zeros if none
    valid_position: bool


def depth_pixels(uv: np.ndarray, colour_size: tuple[int, int], depth_size: tuple[int, int],
                 colour_camera: CameraModel | None = None,
                 depth_camera: CameraModel | None = None) -> np.ndarray:
    """Map (N, 2) colour pixels to depth-image pixels (see the module doc)."""
    if depth_camera is not None and colour_camera is not None:
        normalized = colour_camera.normalized(uv, *colour_size)
        k = _scaled_k(depth_camera, depth_size)
        return normalized * np.array([k[0, 0], k[1, 1]]) + k[:2, 2]
    scale = np.array([depth_size[0] / colour_size[0], depth_size[1] / colour_size[1]])
    return uv * scale


def sample_windows(depth: np.ndarray, uv: np.ndarray, radius: int) -> np.ndarray:
    """(N, (2r+1)^2) depth values around each pixel; NaN outside the image."""
    height, width = depth.shape
    offsets = np.arange(-radius, radius + 1)
    centre = np.rint(np.nan_to_num(uv, nan=-1e6)).astype(np.int64)
    cols = centre[:, :1] + np.tile(offsets, len(offsets))[None]
    rows = centre[:, 1:] + np.repeat(offsets, len(offsets))[None]
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    samples = depth[np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)]
    return np.where(inside, samples, np.nan)


def lift_poses(poses: Sequence[Pose], depth: np.ndarray, colour_size: tuple[int, int],
               camera: CameraModel, config: DepthConfig = DepthConfig(),
               depth_camera: CameraModel | None = None) -> list[Person3D]:
    """Lift each pose with the depth image (metres, NaN = none: :func:`decode_depth`)."""
    if not poses:
        return []
    depth_size = (depth.shape[1], depth.shape[0])
    uv = np.concatenate([pose.positions for pose in poses])
    scores = np.concatenate([pose.keypoint_scores for pose in poses]).reshape(-1, NUM_KEYPOINTS)
    pixels = depth_pixels(uv, colour_size, depth_size, camera, depth_camera)
    samples = sample_windows(depth, pixels, config.window)
    samples[~((samples >= config.min_range) & (samples <= config.max_range))] = np.nan
    samples = samples.reshape(len(poses), NUM_KEYPOINTS, -1)
    eligible = scores >= config.min_keypoint_score
    first = np.where(eligible, _median(samples, config.min_samples), np.nan)
    reference = _person_depth(first)
    near = np.abs(samples - reference[:, None, None]) <= config.outlier_band
    z = np.where(eligible, _trimmed_mean(np.where(near, samples, np.nan), config.min_samples),
                 np.nan)
    valid = np.isfinite(z)
    normalized = camera.normalized(uv, *colour_size).reshape(len(poses), NUM_KEYPOINTS, 2)
    points = np.where(valid[..., None],
                      np.concatenate([normalized * z[..., None], z[..., None]], axis=-1), 0.0)
    return [_person(points[i], valid[i]) for i in range(len(poses))]


def with_3d(pose: Pose, person: Person3D) -> Pose:
    """Return ``pose`` carrying ``person``'s 3D as Pose fields (NaN rows where not valid)."""
    points = np.where(person.valid[:, None], person.points, np.nan)
    position = person.position.copy() if person.valid_position else None
    return replace(pose, keypoints_3d=points, position_3d=position)


def _person(points: np.ndarray, valid: np.ndarray) -> Person3D:
    torso = np.zeros(NUM_KEYPOINTS, dtype=bool)
    torso[list(TORSO)] = True
    chosen = valid & torso if (valid & torso).any() else valid
    if not chosen.any():
        return Person3D(points, valid, np.zeros(3), False)
    return Person3D(points, valid, points[chosen].mean(axis=0), True)


def _person_depth(first: np.ndarray) -> np.ndarray:
    """Median keypoint depth over the torso per person, over all keypoints without one."""
    torso = _median(first[:, list(TORSO)], 1)
    return np.where(np.isfinite(torso), torso, _median(first, 1))


def _median(values: np.ndarray, min_count: int) -> np.ndarray:
    """Median over the last axis ignoring NaN; NaN with fewer than ``min_count`` values.

    Sorting puts NaN last, so the median is read at the finite count's middle (no
    all-NaN warnings from ``np.nanmedian``).
    """
    ordered = np.sort(values, axis=-1)
    count = np.isfinite(values).sum(axis=-1)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[..., None], -1)[..., 0]
    high = np.take_along_axis(ordered, np.maximum(count // 2, 0)[..., None], -1)[..., 0]
    return np.where(count >= min_count, (low + high) / 2.0, np.nan)


def _trimmed_mean(values: np.ndarray, min_count: int) -> np.ndarray:
    """Mean of the finite values on the last axis without their top and bottom TRIM."""
    ordered = np.sort(values, axis=-1)
    count = np.isfinite(values).sum(axis=-1)[..., None]
    rank = np.arange(values.shape[-1])
    cut = (count * TRIM).astype(np.int64)
    keep = (rank >= cut) & (rank < count - cut)
    total = np.where(keep, ordered, 0.0).sum(axis=-1)
    kept = keep.sum(axis=-1)
    return np.where(count[..., 0] >= min_count, total / np.maximum(kept, 1), np.nan)


def _scaled_k(camera: CameraModel, size: tuple[int, int]) -> np.ndarray:
    k = camera.k.copy()
    if camera.width > 0 and camera.height > 0 and (camera.width, camera.height) != size:
        k[0] *= size[0] / camera.width
        k[1] *= size[1] / camera.height
    return k
