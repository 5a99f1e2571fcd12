"""Stable person ids across frames: the tracker's life cycle (settings: :mod:`config`).

Score-aware (confident poses start tracks, weak ones only continue them, duplicates and
poses under ``min_pose_score`` go out untracked), matched in two stages (:mod:`cascade`), in
stamp time so a replay at any rate gives the same ids; lost people keep their predicted path
and, with the image, their looks (:mod:`reid`). The full account, with the reasons for each
rule: docs/tracking.md, "How association works".
"""
from __future__ import annotations

from functools import partial
import math
from typing import Sequence

import numpy as np

from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.core.pose import Pose
from posenet_ros.families.base import PoseModel
from posenet_ros.stages.track import appearance, motion
from posenet_ros.stages.track.cascade import associate, keypoint_pairs
from posenet_ros.stages.track.config import TrackerConfig, TrackerError
from posenet_ros.stages.track.reid import blend, Gallery, LOOK_EVERY, LostTracks
from posenet_ros.stages.track.scores import split
from posenet_ros.stages.track.similarity import encode_planes, plane_boxes
from posenet_ros.stages.track.smoothing import TrackSmoother
from posenet_ros.stages.track.tracked_pose import TrackedPose, UNTRACKED

# OKS a weak pose needs to continue a track: stricter than a confident pose's
# ``min_similarity``, since a weak pose is as likely a fragment of someone else.
WEAK_MIN_SIMILARITY = 0.5
_NONE = np.zeros(0, dtype=np.int64)


class PoseTracker:
    """Tracks the people of one stream. :meth:`update` once per frame, in stamp order.

    Tracks live in the fixed slots of preallocated arrays (``max_tracks`` rows, plus one
    never-live row that untracked detections read their id 0 from), and each step of a frame
    is one array operation over all its people and tracks, never a Python loop over them.
    Keypoints are kept as planes, (x row, y row) per person, so distances and reductions run
    over contiguous memory.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = (config or TrackerConfig()).for_model(PoseModel.confident_pose_score)
        cap = self.config.max_tracks
        self._smoother = TrackSmoother(self.config.filter_config(), cap)
        self._planes = np.zeros((cap + 1, 2, NUM_KEYPOINTS))   # keypoints, -inf invalid
        self._valid = np.zeros((cap + 1, NUM_KEYPOINTS), dtype=bool)
        self._boxes = np.zeros((cap + 1, 4))
        self._velocity = np.zeros((cap + 1, 2))   # 0 until measured
        self._has_velocity = np.zeros(cap + 1, dtype=bool)
        self._seen = np.zeros(cap + 1)        # stamp of the last match
        self._born = np.zeros(cap + 1)        # stamp of the first frame
        self._hits = np.zeros(cap + 1, dtype=np.int64)
        self._ids = np.zeros(cap + 1, dtype=np.int64)   # 0 while tentative
        self._active = np.zeros(cap + 1, dtype=bool)
        self._looks = np.zeros((cap + 1, appearance.REGIONS, appearance.BINS),
                               dtype=np.float32)
        self._look_regions = np.zeros((cap + 1, appearance.REGIONS), dtype=bool)   # none yet
        self._lost = LostTracks()
        self._gallery = Gallery(cap + 1)
        # This frame's looks of its confident poses, when matching needed them: (poses, looks,
        # regions), so that the tracks' looks reuse them.
        self._frame_looks: tuple | None = None
        self._last_stamp: float | None = None
        self._next_id = 1

    def reset(self) -> None:
        """Drop every track; ids start again at 1."""
        self._active[:] = False
        self._lost.clear()
        self._smoother.start()
        self._last_stamp = None
        self._next_id = 1

    def update(self, poses: Sequence[Pose], stamp_seconds: float,
               image: np.ndarray | None = None) -> list[TrackedPose]:
        """Match ``poses`` (one frame, seen at ``stamp_seconds``) to tracks.

        ``image`` (HxWx3 RGB uint8, the frame the poses are in) gives the tracks their looks
        for re-identification (``reid_max_age`` > 0); without it ids are kept by motion and
        keypoints alone. Returns one :class:`TrackedPose` per input pose, in input order.
        Raises TrackerError for a stamp that is not a finite number.
        """
        stamp = float(stamp_seconds)
        if not math.isfinite(stamp):
            raise TrackerError(f"stamp {stamp_seconds!r} is not a finite number of seconds")
        if self._last_stamp is not None and stamp < self._last_stamp:
            self.reset()
        same = self._last_stamp is not None and stamp == self._last_stamp
        self._last_stamp = stamp
        if not len(poses):
            self._end_frame(self._live(stamp), _NONE)
            return []
        cfg = self.config
        positions = np.array([p.positions for p in poses], dtype=np.float64)
        scores = np.array([p.keypoint_scores for p in poses], dtype=np.float64)
        planes = positions.transpose(0, 2, 1).copy()
        # A NaN score fails the threshold test; x + y is finite only when both are.
        valid = (scores >= cfg.keypoint_threshold) & np.isfinite(planes[:, 0] + planes[:, 1])
        # Encoded planes (similarity.encode_planes): +inf / -inf at invalid keypoints.
        high = encode_planes(planes, valid, -np.inf)     # what tracks store
        low = encode_planes(planes, valid, np.inf)       # what OKS compares with them
        boxes = plane_boxes(low, high, valid, planes)
        confident, weak = self._split(poses, low, high, valid, boxes)
        live = self._live(stamp)
        self._frame_looks = None
        slots = np.full(len(poses), self.config.max_tracks, dtype=np.int64)   # untracked
        dets, trks = self._associate(live, low, valid, boxes, stamp, confident, weak,
                                     image) if len(live) else (_NONE, _NONE)
        slots[dets] = live[trks]
        self._end_frame(live, trks)
        born_dets, born_slots = self._births(
            np.flatnonzero((slots == cfg.max_tracks) & confident), boxes, stamp)
        if len(born_dets):
            slots[born_dets] = born_slots
            dets = np.concatenate([dets, born_dets])
        if len(dets):
            if image is not None and cfg.reid_max_age > 0:
                self._look(image, dets[confident[dets]], slots, planes, valid, boxes)
            self._match(slots[dets], low[dets], high[dets], valid[dets], boxes[dets], stamp,
                        same, born_slots)
        return self._results(poses, planes, valid, boxes, slots, stamp, same)

    def _live(self, stamp: float) -> np.ndarray:
        """Slots of the live tracks, after confirmed ones too long unseen have died."""
        live = np.flatnonzero(self._active)
        if len(live):
            expired = (self._ids[live] > 0) & (stamp - self._seen[live] > self.config.max_age)
            if expired.any():
                dead = live[expired]
                self._active[dead] = False
                if self.config.reid_max_age > 0:
                    self._lost.add(self._ids[dead], self._looks[dead],
                                   self._look_regions[dead], self._seen[dead],
                                   self._gallery.looks[dead], self._gallery.regions[dead])
                live = live[~expired]
        return live

    def _end_frame(self, live: np.ndarray, matched: np.ndarray) -> None:
        """Kill the tentative tracks of ``live`` not in ``matched`` (indices into ``live``)."""
        if len(matched) < len(live):
            left = np.ones(len(live), dtype=bool)
            left[matched] = False
            left = live[left]
            self._active[left[self._ids[left] == UNTRACKED]] = False

    def _split(self, poses: Sequence[Pose], low: np.ndarray, high: np.ndarray,
               valid: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (confident, weak) masks of a frame's poses; the rest stay untracked."""
        return split([p.score for p in poses], low, high, valid, boxes, self.config)

    def _associate(self, live: np.ndarray, planes: np.ndarray, valid: np.ndarray,
                   boxes: np.ndarray, stamp: float, confident: np.ndarray,
                   weak: np.ndarray, image: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Match detections to the tracks ``live``, predicted to ``stamp`` (see cascade).

        Confident poses first, through both stages (with the image, looks weigh contested
        pairs); then weak ones, by keypoints alone, to the confirmed tracks left over.
        """
        cfg = self.config
        dt = np.clip(stamp - self._seen[live], 0.0, cfg.max_age)
        trk_planes, trk_boxes = self._planes[live], self._boxes[live]
        if cfg.motion:
            has_velocity = self._has_velocity[live]
            trk_planes, trk_boxes = motion.predict(trk_planes, trk_boxes,
                                                   self._velocity[live], dt)
        else:
            has_velocity = np.zeros(len(live), dtype=bool)
        trk_valid = self._valid[live]
        if image is not None:           # a track predicted out of the image: not matched
            out = motion.out_of_view(trk_boxes, image.shape)
            if out.any():
                trk_valid, trk_boxes = np.where(out[:, None], False, trk_valid), trk_boxes.copy()
                trk_boxes[out] = np.nan
        first = np.flatnonzero(confident)
        looks = None
        if image is not None and cfg.reid_max_age > 0:
            looks = partial(self._alike, image, first, planes, valid, boxes, live)
        dets, trks = associate(planes[first], valid[first], boxes[first], trk_planes,
                               trk_valid, trk_boxes, has_velocity, dt, cfg.min_similarity,
                               cfg.min_keypoints, looks)
        dets = first[dets]
        second = np.flatnonzero(weak)
        if len(second):
            free = self._ids[live] != UNTRACKED
            free[trks] = False
            left = np.flatnonzero(free)
            more_dets, more_trks = keypoint_pairs(
                planes[second], valid[second], boxes[second], trk_planes[left],
                trk_valid[left], trk_boxes[left], WEAK_MIN_SIMILARITY, cfg.min_keypoints)
            dets = np.concatenate([dets, second[more_dets]])
            trks = np.concatenate([trks, left[more_trks]])
        return dets, trks

    def _alike(self, image: np.ndarray, dets: np.ndarray, planes: np.ndarray,
               valid: np.ndarray, boxes: np.ndarray, live: np.ndarray) -> np.ndarray:
        """Look similarity of poses ``dets`` (encoded planes) with the tracks ``live``, (N, M)."""
        found, seen = appearance.describe(image, planes[dets], valid[dets], boxes[dets])
        self._frame_looks = (dets, found, seen)
        return appearance.similarity(found, seen, self._looks[live], self._look_regions[live])

    def _match(self, slots: np.ndarray, low: np.ndarray, high: np.ndarray, valid: np.ndarray,
               boxes: np.ndarray, stamp: float, same: bool, born: np.ndarray) -> None:
        """Update the tracks ``slots`` with their detections (encoded planes); confirm due ones."""
        if not same:
            self._velocity[slots], measured = motion.update_velocity(
                self._velocity[slots], self._has_velocity[slots], self._planes[slots],
                self._valid[slots], low, valid, stamp - self._seen[slots])
            self._has_velocity[slots] |= measured
            self._hits[slots] += 1
            self._seen[slots] = stamp
        elif len(born):
            self._hits[born] = 1
        self._planes[slots], self._valid[slots], self._boxes[slots] = high, valid, boxes
        due = slots[(self._ids[slots] == UNTRACKED) & (self._hits[slots] >= self.config.min_hits)]
        if len(due):
            claimed = self._reidentify(due, stamp) if self.config.reid_max_age > 0 else 0
            fresh = np.arange(self._next_id, self._next_id + len(due))
            self._ids[due] = np.where(claimed > 0, claimed, fresh)
            self._next_id += len(due)

    def _look(self, image: np.ndarray, dets: np.ndarray, slots: np.ndarray,
              planes: np.ndarray, valid: np.ndarray, boxes: np.ndarray) -> None:
        """Blend the looks of confident detections ``dets`` into their tracks' looks."""
        hits = self._hits[slots[dets]]
        dets = dets[(hits < LOOK_EVERY) | (hits % LOOK_EVERY == 0)]
        if not len(dets):
            return
        if self._frame_looks is not None:       # taken while matching (sorted poses)
            known, found, seen = self._frame_looks
            at = np.searchsorted(known, dets)
            looks, regions = found[at], seen[at]
        else:
            looks, regions = appearance.describe(image, planes[dets], valid[dets], boxes[dets])
        where = slots[dets]
        self._looks[where], self._look_regions[where] = blend(
            self._looks[where], self._look_regions[where], looks, regions)
        self._gallery.add(where, looks, regions)

    def _reidentify(self, due: np.ndarray, stamp: float) -> np.ndarray:
        """Ids the tracks ``due`` take back by their looks (0: none), see :mod:`reid`.

        Besides ended tracks, a live confirmed track not seen since the oldest of ``due``
        began may be claimed (a person who left and came back within ``max_age``); its
        slot then ends.
        """
        cfg = self.config
        live = np.flatnonzero(self._active[:-1])
        live = live[(self._ids[live] > 0) & (self._seen[live] < self._born[due].min())
                    & (stamp - self._seen[live] <= cfg.reid_max_age)]
        claimed, source = self._lost.claim(
            self._looks[due], self._look_regions[due], stamp, cfg.reid_max_age,
            cfg.reid_min_similarity,
            (self._ids[live], self._looks[live], self._look_regions[live],
             self._gallery.looks[live], self._gallery.regions[live]), self._born[due])
        self._active[live[source[source >= 0]]] = False
        return claimed

    def _births(self, dets: np.ndarray, boxes: np.ndarray,
                stamp: float) -> tuple[np.ndarray, np.ndarray]:
        """Start tentative tracks for ``dets`` in free slots: (detections, slots) started."""
        if not len(dets):
            return _NONE, _NONE
        dets = dets[np.isfinite(boxes[dets]).all(axis=1)]
        free = np.flatnonzero(~self._active[:-1])[:len(dets)]
        dets = dets[:len(free)]
        if not len(free):
            return _NONE, _NONE
        self._active[free] = True
        self._ids[free] = UNTRACKED
        self._hits[free] = 0
        self._valid[free] = False          # no previous keypoints: no velocity measured
        self._has_velocity[free] = False
        self._look_regions[free] = False
        self._gallery.start(free)
        self._velocity[free] = 0.0
        self._born[free] = stamp
        self._seen[free] = stamp
        self._smoother.start(free)
        return dets, free

    def _results(self, poses, planes, valid, boxes, slots, stamp, same):
        """One TrackedPose per input pose, smoothing the tracked ones when it is on."""
        self._born[-1] = stamp              # the untracked row: age 0, id 0, hits 0
        ids, hits = self._ids[slots].tolist(), self._hits[slots].tolist()
        ages = (stamp - self._born[slots]).tolist()
        shown = [pose.positions for pose in poses]
        if self.config.smoothing:
            tracked = np.flatnonzero(slots < self.config.max_tracks)
            if len(tracked):
                # A tracked detection's box is finite (births and matches need keypoints).
                sides = boxes[tracked, 2:] - boxes[tracked, :2]
                smooth = self._smoother.apply(slots[tracked], planes[tracked], valid[tracked],
                                              sides.sum(axis=1) / 2, stamp, same)
                smooth = smooth.transpose(0, 2, 1).copy()   # back to (n, 17, 2)
                for k, i in enumerate(tracked.tolist()):
                    shown[i] = smooth[k]
        return [TrackedPose(i, raw, positions, tuple(box), age, hit)
                for i, raw, positions, box, age, hit in zip(ids, poses, shown, boxes.tolist(),
                                                            ages, hits)]
