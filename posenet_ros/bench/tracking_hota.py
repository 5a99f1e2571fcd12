"""HOTA on box IoU, computed as TrackEval's reference implementation does.

Luiten et al., "HOTA: A Higher Order Metric for Evaluating Multi-Object Tracking", IJCV
2021.

For each localisation threshold alpha in 0.05, 0.10, ... 0.95: each frame's ground truth
and hypotheses are matched one-to-one (Hungarian) on IoU weighted by how well each pair of
identities aligns over the whole sequence, and pairs with IoU >= alpha are true positives.
DetA = TP / (TP + FN + FP); AssA = the mean over true positives c of
TPA(c) / (TPA(c) + FNA(c) + FPA(c)), the association Jaccard of c's two identities;
HOTA(alpha) = sqrt(DetA * AssA). HOTA, DetA and AssA are the means over the 19 alphas.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from posenet_ros.stages.track.similarity import box_iou
from scipy.optimize import linear_sum_assignment

ALPHAS = np.arange(0.05, 0.99, 0.05)
_EPS = np.finfo(float).eps


class HotaAccumulator:
    """Collects frames of (truth ids, truth boxes, hypothesis ids, hypothesis boxes)."""

    def __init__(self) -> None:
        self._frames: list[tuple[list, list, np.ndarray]] = []

    def update(self, truth_ids: Sequence, truth_boxes: np.ndarray, hyp_ids: Sequence,
               hyp_boxes: np.ndarray) -> None:
        """Add one frame; boxes are (x0, y0, x1, y1), (N, 4) and (M, 4)."""
        iou = box_iou(np.asarray(truth_boxes, float).reshape(-1, 4),
                      np.asarray(hyp_boxes, float).reshape(-1, 4))
        self._frames.append((list(truth_ids), list(hyp_ids), iou))

    def compute(self) -> dict[str, float]:
        """Return HOTA, DetA and AssA (means over :data:`ALPHAS`)."""
        gt_index = {g: k for k, g in enumerate(sorted({g for f in self._frames for g in f[0]}))}
        hyp_index = {h: k for k, h in enumerate(sorted({h for f in self._frames for h in f[1]}))}
        frames = [(np.array([gt_index[g] for g in gts], dtype=np.int64),
                   np.array([hyp_index[h] for h in hyps], dtype=np.int64), iou)
                  for gts, hyps, iou in self._frames]
        potential = np.zeros((len(gt_index), len(hyp_index)))
        gt_count = np.zeros((len(gt_index), 1))
        hyp_count = np.zeros((1, len(hyp_index)))
        for gts, hyps, iou in frames:
            if len(gts) and len(hyps):
                denom = iou.sum(0)[None, :] + iou.sum(1)[:, None] - iou
                potential[gts[:, None], hyps[None, :]] += np.where(
                    denom > _EPS, iou / np.where(denom > _EPS, denom, 1.0), 0.0)
            gt_count[gts] += 1
            hyp_count[0, hyps] += 1
        alignment = potential / np.maximum(gt_count + hyp_count - potential, _EPS)
        tp, fn, fp = (np.zeros(len(ALPHAS)) for _ in range(3))
        matches = np.zeros((len(ALPHAS),) + potential.shape)
        for gts, hyps, iou in frames:
            if not len(gts) or not len(hyps):
                fn += len(gts)
                fp += len(hyps)
                continue
            rows, cols = linear_sum_assignment(-(alignment[gts[:, None], hyps[None, :]] * iou))
            for a, alpha in enumerate(ALPHAS):
                ok = iou[rows, cols] >= alpha - _EPS
                count = int(ok.sum())
                tp[a] += count
                fn[a] += len(gts) - count
                fp[a] += len(hyps) - count
                matches[a, gts[rows[ok]], hyps[cols[ok]]] += 1
        ass = np.zeros(len(ALPHAS))
        for a in range(len(ALPHAS)):
            jaccard = matches[a] / np.maximum(1.0, gt_count + hyp_count - matches[a])
            ass[a] = (matches[a] * jaccard).sum() / max(1.0, tp[a])
        det = tp / np.maximum(1.0, tp + fn + fp)
        return {"hota": float(np.sqrt(det * ass).mean()), "deta": float(det.mean()),
                "assa": float(ass.mean())}
