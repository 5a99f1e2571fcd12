"""Re-identification: a confirmed id lost from sight can be claimed back by its look.

Motion and keypoints carry an id through a short occlusion (``max_age``); past that, or
when a person leaves the image and comes back elsewhere, the path is no help. Each
confirmed track keeps a running look (:mod:`appearance`, averaged over its confident
matches) and its last few looks as taken (:class:`Gallery`); when its track dies they are
kept here for ``reid_max_age`` seconds of stamps. A new track about to be confirmed takes
back the id whose looks it resembles most (the best Bhattacharyya coefficient of its running
look with that id's running look and gallery, >= ``reid_min_similarity``), when that id is
in turn most like this new track among those being confirmed; else it gets a new id.
"""
from __future__ import annotations

import numpy as np

from posenet_ros.stages.track import appearance

# Weight of a new look in a track's running look: a few frames settle it, and one frame
# half hidden by someone else does not replace it.
LOOK_GAIN = 0.2
# A track's look is taken in its first LOOK_EVERY matches, then every LOOK_EVERY-th: clothes
# do not change from frame to frame, and the tracker's cost per frame stays low.
LOOK_EVERY = 4
# Looks kept as taken (not blended) per track, the last few: a claim scores a kept id by the
# best of these and its running look, so a person is recognised from any recent view of
# them (half hidden, cut by the image's side, turned) while a running look is a blur of all.
GALLERY = 4


class Gallery:
    """Each track slot's last :data:`GALLERY` looks as taken: (slots, GALLERY, R, BINS)."""

    def __init__(self, slots: int) -> None:
        shape = (slots, GALLERY, appearance.REGIONS)
        self.looks = np.zeros((*shape, appearance.BINS), dtype=np.float32)
        self.regions = np.zeros(shape, dtype=bool)
        self._count = np.zeros(slots, dtype=np.int64)

    def start(self, slots: np.ndarray) -> None:
        """Empty the galleries of ``slots`` (new tracks)."""
        self.regions[slots] = False
        self._count[slots] = 0

    def add(self, slots: np.ndarray, looks: np.ndarray, regions: np.ndarray) -> None:
        """Keep a look for each of ``slots`` (distinct), replacing their oldest."""
        at = self._count[slots] % GALLERY
        self.looks[slots, at], self.regions[slots, at] = looks, regions
        self._count[slots] += 1


class LostTracks:
    """The looks of recently ended tracks, by id, each with the stamp it was last seen."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every look."""
        self._ids = np.zeros(0, dtype=np.int64)
        self._looks = np.zeros((0, appearance.REGIONS, appearance.BINS), dtype=np.float32)
        self._seen_regions = np.zeros((0, appearance.REGIONS), dtype=bool)
        self._stamps = np.zeros(0)
        self._gallery = np.zeros((0, GALLERY, appearance.REGIONS, appearance.BINS),
                                 dtype=np.float32)
        self._gallery_regions = np.zeros((0, GALLERY, appearance.REGIONS), dtype=bool)

    def add(self, ids: np.ndarray, looks: np.ndarray, regions: np.ndarray,
            stamps: np.ndarray, gallery: np.ndarray, gallery_regions: np.ndarray) -> None:
        """Keep the running looks and galleries of ended tracks (those with a region seen)."""
        keep = regions.any(axis=1)
        if keep.any():
            self._ids = np.concatenate([self._ids, ids[keep]])
            self._looks = np.concatenate([self._looks, looks[keep]])
            self._seen_regions = np.concatenate([self._seen_regions, regions[keep]])
            self._stamps = np.concatenate([self._stamps, stamps[keep]])
            self._gallery = np.concatenate([self._gallery, gallery[keep]])
            self._gallery_regions = np.concatenate([self._gallery_regions,
                                                    gallery_regions[keep]])

    def claim(self, looks: np.ndarray, regions: np.ndarray, stamp: float, max_age: float,
              min_similarity: float, live: tuple | None = None,
              born: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the id each new track (looks (N, R, BINS)) takes back (or 0), and where.

        ``live`` (ids, looks, regions, galleries, gallery regions) adds live tracks unseen
        since the new tracks began;
        the second array is the index into ``live`` of each id taken from there, else -1.
        ``born`` (N,): when each new track was first seen (default ``stamp``). A person is
        back when first seen again, not when confirmed ``min_hits`` frames later: a kept
        look is claimable by a track born within ``max_age`` of it.
        """
        start = np.full(len(looks), stamp) if born is None else np.minimum(born, stamp)
        fresh = start.min(initial=stamp) - self._stamps <= max_age
        if not fresh.all():
            self._keep(fresh)
        recent = start[:, None] - self._stamps[None, :] <= max_age
        ids, kept, kept_regions = self._ids, self._looks, self._seen_regions
        gallery, gallery_regions = self._gallery, self._gallery_regions
        if live is not None and len(live[0]):
            ids = np.concatenate([ids, live[0]])
            kept = np.concatenate([kept, live[1]])
            kept_regions = np.concatenate([kept_regions, live[2]])
            gallery = np.concatenate([gallery, live[3]])
            gallery_regions = np.concatenate([gallery_regions, live[4]])
        out, source = np.zeros(len(looks), dtype=np.int64), np.full(len(looks), -1)
        if not len(ids) or not len(looks):
            return out, source
        score = appearance.similarity(looks, regions, kept, kept_regions)
        views = appearance.similarity(looks, regions, gallery.reshape(-1, *kept.shape[1:]),
                                      gallery_regions.reshape(-1, kept.shape[1]))
        score = np.maximum(score, views.reshape(len(looks), len(ids), GALLERY).max(axis=2))
        score[:, :len(self._ids)] = np.where(recent, score[:, :len(self._ids)], -1.0)
        best = score.argmax(axis=1)
        mutual = score.argmax(axis=0)[best] == np.arange(len(looks))
        take = mutual & (score[np.arange(len(looks)), best] >= min_similarity)
        out[take] = ids[best[take]]
        source[take] = best[take] - len(self._ids)
        source[source < 0] = -1
        gallery = best[take][best[take] < len(self._ids)]
        if len(gallery):
            left = np.ones(len(self._ids), dtype=bool)
            left[gallery] = False
            self._keep(left)
        return out, source

    def _keep(self, mask: np.ndarray) -> None:
        self._ids, self._looks = self._ids[mask], self._looks[mask]
        self._seen_regions, self._stamps = self._seen_regions[mask], self._stamps[mask]
        self._gallery = self._gallery[mask]
        self._gallery_regions = self._gallery_regions[mask]


def blend(old: np.ndarray, old_regions: np.ndarray, new: np.ndarray,
          new_regions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return running looks (M, R, BINS) after new ones: blended where both saw a region."""
    both = (old_regions & new_regions)[..., None]
    only_new = (new_regions & ~old_regions)[..., None]
    looks = np.where(both, old + LOOK_GAIN * (new - old), np.where(only_new, new, old))
    return looks.astype(np.float32), old_regions | new_regions
