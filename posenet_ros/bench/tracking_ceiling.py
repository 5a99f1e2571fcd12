"""The association ceiling: the best any tracker can score on a detector's poses.

A tracker only names the poses it is given, so a person the detector missed is a miss for
every tracker, and a pose whose box overlaps its person at IoU < 0.5 counts as a false
positive plus a miss whatever id it gets. :class:`Oracle` gives each pose the ground-truth
identity of its person (one IoU >= 0.5 matching per frame, as the scoring makes) and no id
to poses matched to nobody: its IDF1 is the most any tracker can reach on these detections,
and a tracker's IDF1 over the oracle's is the share of that ceiling it gets.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from posenet_ros.core.pose import Pose
from posenet_ros.stages.track.similarity import keypoint_boxes

# The tracker's default keypoint_threshold: a pose's box spans its keypoints scoring this.
KEYPOINT_THRESHOLD = 0.3


def pose_boxes(poses: Sequence[Pose], threshold: float = KEYPOINT_THRESHOLD) -> np.ndarray:
    """Boxes of ``poses`` as the tracker draws them (its keypoints scoring ``threshold``)."""
    if not len(poses):
        return np.zeros((0, 4))
    positions = np.array([p.positions for p in poses], dtype=np.float64)
    scores = np.array([p.keypoint_scores for p in poses], dtype=np.float64)
    return keypoint_boxes(positions, (scores >= threshold) & np.isfinite(positions).all(axis=2))


class Oracle:
    """Names each pose by its ground-truth person; needs the frame's truth (``sees_truth``)."""

    sees_truth = True

    def update(self, poses: Sequence[Pose], stamp: float, truth: Sequence[tuple] = (),
               image=None) -> list[tuple[int, tuple]]:
        """Return (identity or 0, box) per pose, from the frame's IoU >= 0.5 matching."""
        from posenet_ros.bench.tracking_eval import match

        boxes = pose_boxes(poses)
        ids = [0] * len(poses)
        for row, col in match(np.array([t[1] for t in truth]).reshape(-1, 4), boxes):
            ids[col] = int(truth[row][0])
        return [(i, tuple(b)) for i, b in zip(ids, boxes.tolist())]


def shares(results: dict, ceiling: str = "association ceiling") -> dict[str, dict[str, float]]:
    """{tracker: {scene kind: IDF1 / the ceiling's IDF1}} from :func:`tracking_report.report`."""
    top = results[ceiling]
    return {label: {kind: (groups[kind]["idf1"] / top[kind]["idf1"]
                           if top[kind]["idf1"] > 0 else float("nan"))
                    for kind in groups if kind in top}
            for label, groups in results.items() if label != ceiling}
