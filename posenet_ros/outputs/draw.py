"""Skeleton overlays for images and video frames."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from posenet_ros.core.keypoints import SKELETON
from posenet_ros.core.pose import Pose, UNTRACKED

# One colour per person (RGB), cycled: Okabe-Ito, distinct for colour-blind viewers too. RViz
# markers take theirs from here, so a person has the same colour in both views.
PALETTE = ((230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
           (213, 94, 0), (204, 121, 167))


def draw_poses(image: np.ndarray, poses: Sequence[Pose], min_keypoint_score: float = 0.5,
               min_pose_score: float = 0.0, copy: bool = True) -> np.ndarray:
    """Draw keypoints and limbs at or above ``min_keypoint_score`` on an RGB (or BGR) uint8 image.

    Line widths scale with the image so the overlay reads the same at 320 px and at 4K. A
    tracked person keeps the colour of its track id and is labelled ``id N`` above its
    highest visible keypoint.
    """
    canvas = image.copy() if copy else image
    thickness = max(1, round(max(canvas.shape[:2]) / 320))
    for i, pose in enumerate(poses):
        if pose.score < min_pose_score:
            continue
        tracked = pose.track_id != UNTRACKED
        colour = PALETTE[pose.slot(i) % len(PALETTE)]
        pts = np.round(np.nan_to_num(pose.positions)).astype(np.int32)
        ok = pose.keypoint_scores >= min_keypoint_score
        for a, b in SKELETON:
            if ok[a] and ok[b]:
                cv2.line(canvas, tuple(map(int, pts[a])), tuple(map(int, pts[b])), colour,
                         thickness, cv2.LINE_AA)
        for k in np.flatnonzero(ok):
            cv2.circle(canvas, tuple(map(int, pts[k])), thickness + 2, colour, -1, cv2.LINE_AA)
        if tracked and ok.any():
            top = pts[ok][np.argmin(pts[ok][:, 1])]
            cv2.putText(canvas, f"id {pose.track_id}", (int(top[0]), int(top[1]) - 4 * thickness),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, colour, thickness, cv2.LINE_AA)
    return canvas
