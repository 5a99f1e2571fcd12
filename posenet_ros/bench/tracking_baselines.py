"""The baselines the tracker is measured against, on the same detections.

- :class:`GreedyCentreTracker`: each detection, best first, takes the nearest free track by
  box centre (within one box height), else starts a track.
- :class:`IouTracker`: pose-detection 2.1.3's BoundingBoxTracker: each detection, best first,
  takes the free track of highest box IoU (>= 0.15), else starts a track; tracks unseen for
  more than 1 s die. Boxes are the poses' keypoint boxes (MultiPose's own boxes are not
  available from PoseNet).
- :class:`OksTracker`: pose-detection 2.1.3's KeypointTracker: each detection, best first,
  takes the free track of highest OKS with the track's last keypoints (>= 0.2, at least 4
  keypoints of score >= 0.3 shared), else starts a track; unseen for more than 1 s: dead.
- :class:`TrackerBefore`: this package's tracker as it was before issue 19 (every pose,
  whatever its score, matched alike and able to start a track; no duplicate test).

The greedy three give an id on a track's first frame, as pose-detection does.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from posenet_ros.core.pose import Pose
from posenet_ros.stages.track.similarity import box_iou, keypoint_boxes, oks
from posenet_ros.stages.track.tracker import PoseTracker

MAX_AGE = 1.0               # seconds, pose-detection's maxAge 1000 ms
IOU_MIN_SIMILARITY = 0.15   # pose-detection DEFAULT_BOUNDING_BOX_TRACKER_CONFIG
KEYPOINT_THRESHOLD = 0.3
OKS_MIN_SIMILARITY = 0.2    # pose-detection DEFAULT_KEYPOINT_TRACKER_CONFIG
OKS_MIN_KEYPOINTS = 4


class _GreedyTracker:
    def __init__(self) -> None:
        self._boxes: dict[int, np.ndarray] = {}
        self._keypoints: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._seen: dict[int, float] = {}
        self._next = 1

    def update(self, poses: Sequence[Pose], stamp: float) -> list[tuple[int, tuple]]:
        """Return (id, box) per pose, in input order."""
        self._seen = {k: s for k, s in self._seen.items() if stamp - s <= MAX_AGE}
        self._boxes = {k: self._boxes[k] for k in self._seen}
        self._keypoints = {k: self._keypoints[k] for k in self._seen}
        positions = np.array([p.positions for p in poses]).reshape(-1, 17, 2)
        valid = np.array([p.keypoint_scores for p in poses]).reshape(-1, 17) >= KEYPOINT_THRESHOLD
        boxes = keypoint_boxes(positions, valid)
        ids = list(self._boxes)
        self._current = (positions, valid)
        sim = self._similarity(boxes, np.array([self._boxes[k] for k in ids]).reshape(-1, 4),
                               ids)
        order = np.argsort([-p.score for p in poses], kind="stable")
        free = set(range(len(ids)))
        out = [0] * len(poses)
        for det in order:
            best = max(free, key=lambda j: sim[det, j], default=None)
            if best is not None and sim[det, best] >= self.min_similarity:
                free.discard(best)
                out[det] = ids[best]
            else:
                out[det] = self._next
                self._next += 1
            self._boxes[out[det]] = boxes[det]
            self._keypoints[out[det]] = (positions[det], valid[det])
            self._seen[out[det]] = stamp
        return [(i, tuple(b)) for i, b in zip(out, boxes.tolist())]


class IouTracker(_GreedyTracker):
    """Greedy box-IoU association, as pose-detection's BoundingBoxTracker."""

    min_similarity = IOU_MIN_SIMILARITY

    def _similarity(self, boxes: np.ndarray, tracks: np.ndarray, ids: list) -> np.ndarray:
        return box_iou(boxes, tracks)


class OksTracker(_GreedyTracker):
    """Greedy OKS association, as pose-detection's KeypointTracker."""

    min_similarity = OKS_MIN_SIMILARITY

    def _similarity(self, boxes: np.ndarray, tracks: np.ndarray, ids: list) -> np.ndarray:
        positions, valid = self._current
        if len(boxes) == 0 or not ids:
            return np.zeros((len(boxes), len(ids)))
        trk_pos = np.array([self._keypoints[k][0] for k in ids])
        trk_valid = np.array([self._keypoints[k][1] for k in ids])
        areas = (tracks[:, 2] - tracks[:, 0]) * (tracks[:, 3] - tracks[:, 1])
        return oks(np.nan_to_num(positions), valid, np.nan_to_num(trk_pos), trk_valid, areas,
                   OKS_MIN_KEYPOINTS)


class GreedyCentreTracker(_GreedyTracker):
    """Greedy nearest box centre within one box height."""

    min_similarity = 0.0

    def _similarity(self, boxes: np.ndarray, tracks: np.ndarray, ids: list) -> np.ndarray:
        if len(boxes) == 0 or len(tracks) == 0:
            return np.zeros((len(boxes), len(tracks)))
        c_det = (boxes[:, :2] + boxes[:, 2:]) / 2
        c_trk = (tracks[:, :2] + tracks[:, 2:]) / 2
        dist = np.linalg.norm(c_det[:, None] - c_trk[None], axis=2)
        height = (tracks[:, 3] - tracks[:, 1])[None, :]
        return np.where(np.isfinite(dist), 1.0 - dist / np.maximum(height, 1.0), -1.0)


class TrackerBefore(PoseTracker):
    """The tracker before issue 19: every pose confident, none a duplicate, no minimum score."""

    def _split(self, poses, low, high, valid, boxes):
        everyone = np.ones(len(poses), dtype=bool)
        return everyone, ~everyone
