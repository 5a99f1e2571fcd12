"""Seeded tracking evaluation: detect once, score every tracker, pool per scene kind; tuning.

Detections are computed once per scene and fed to every tracker (and every candidate
setting while tuning), so the figures compare association alone. Pooled figures follow
MOTChallenge: IDF1 and MOTA from the summed counts of all scenes of a group (motmetrics'
OVERALL), ID switches summed, HOTA the mean of the scenes' HOTA.
"""
from __future__ import annotations

import functools
import itertools
from pathlib import Path
import pickle
from typing import Callable, Iterable, Sequence

import numpy as np

from posenet_ros.bench import tracking_seeded as seeded
from posenet_ros.bench.tracking_ceiling import Oracle, shares
from posenet_ros.bench.tracking_eval import _Ours, accumulate, detect, IMAGE_TRACKERS, TRACKERS
from posenet_ros.bench.tracking_rates import rates
from posenet_ros.estimator import PoseEstimator
from posenet_ros.stages.track import cascade
from posenet_ros.stages.track.config import TrackerConfig

POOLED = ("idf1", "mota", "num_switches", "num_false_positives", "num_misses")
# Candidate settings searched on the TUNE seeds: the score thresholds first (re-id off,
# min_pose_score <= high_pose_score), then re-identification with the best of them.
GRID = {"min_pose_score": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
        "high_pose_score": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
        "duplicate_oks": (0.5, 0.7, 1.0)}
REID_GRID = {"reid_max_age": (0.0, 2.0, 3.0, 5.0), "reid_min_similarity": (0.75, 0.8, 0.85, 0.9)}
# Then the weight of looks in contested matches (power 0: looks not used in matching).
LOOKS_GRID = {"power": (0.0, 1.0, 2.0, 4.0, 8.0), "contest": (0.05, 0.2)}

Detected = list[tuple[int, str, list]]      # (seed, kind, [(stamp, poses, truth)])
CEILING = "association ceiling"


def detect_seeds(estimator: PoseEstimator, seeds: Iterable[int],
                 cache: Path | None = None) -> Detected:
    """Draw, render and detect the scenes of ``seeds``: [(seed, kind, frames)].

    With ``cache``, detections are kept in that file (a pickle this bench wrote) keyed by
    seed and the estimator's settings, so tuning and reports reuse them.
    """
    key = (seeded.GENERATION, repr(estimator.config.replace(threads=0)))   # threads: no change
    store = pickle.loads(cache.read_bytes()) if cache and cache.is_file() else {}
    added = 0
    out = []
    for seed in seeds:
        if (key, seed) not in store:
            sprites, bases = _makings()
            scene = seeded.draw(seed, sprites)
            store[key, seed] = (scene.kind, [(t, detect(estimator, image), truth)
                                             for t, image, truth in seeded.render(scene, bases)])
            added += 1
            if cache and added % 10 == 0:     # a long run stopped keeps what it detected
                cache.write_bytes(pickle.dumps(store))
        out.append((seed, *store[key, seed]))
    if cache and added:
        cache.write_bytes(pickle.dumps(store))
    return out


@functools.lru_cache(maxsize=1)
def _makings() -> tuple[list, list]:
    """Return the people (found by PoseNet at 513) and backgrounds of the seeded scenes."""
    return (seeded.people(PoseEstimator(providers=("cpu",), input_resolution=513)),
            seeded.backgrounds())


def images(seed: int) -> list:
    """Render the frames of ``seed``'s scene again (the same pixels as when detected)."""
    sprites, bases = _makings()
    return [image for _, image, _ in seeded.render(seeded.draw(seed, sprites), bases)]


def pooled(detected: Detected, make_tracker: Callable, hota: bool = True,
           with_images: bool = False) -> dict[str, dict[str, float]]:
    """Figures of one tracker per scene kind and over all scenes ("all").

    ``with_images``: the tracker is given each frame's image too (for its appearance cue).
    """
    import motmetrics as mm   # test/bench-only dependency

    accs, hotas, kinds = [], [], []
    for seed, kind, frames in detected:
        acc, hota_acc = accumulate(frames, make_tracker, images(seed) if with_images else None)
        accs.append(acc)
        hotas.append(hota_acc.compute()["hota"] if hota else float("nan"))
        kinds.append(kind)
    groups = {kind: [i for i, k in enumerate(kinds) if k == kind]
              for kind in seeded.KINDS if kind in kinds}
    groups["all"] = list(range(len(kinds)))
    metrics = mm.metrics.create()
    out = {}
    for name, members in groups.items():
        summary = metrics.compute_many([accs[i] for i in members], metrics=list(POOLED),
                                       names=[str(i) for i in members], generate_overall=True)
        row = {m: float(summary[m].loc["OVERALL"]) for m in POOLED}
        row["hota"] = float(np.mean([hotas[i] for i in members]))
        row["scenes"] = len(members)
        row["scenes_with_switch"] = int((summary["num_switches"].drop("OVERALL") > 0).sum())
        out[name] = row
    return out


def report(detected: Detected, trackers: dict[str, Callable] | None = None) -> dict:
    """Return {tracker: pooled figures} for ``trackers`` (default all, and the ceiling)."""
    return {label: pooled(detected, make, with_images=label in IMAGE_TRACKERS)
            for label, make in (trackers or {**TRACKERS, CEILING: Oracle}).items()}


def shares_markdown(results: dict, order: Sequence[str] = seeded.KINDS + ("all",)) -> str:
    """One table: each tracker's IDF1 as a share of the association ceiling's, per kind."""
    table = shares(results, CEILING)
    kinds = [k for k in order if k in results[CEILING]]
    lines = ["| tracker | " + " | ".join(kinds) + " |", "| --- |" + " ---: |" * len(kinds),
             f"| {CEILING} (IDF1) | "
             + " | ".join(f"{results[CEILING][k]['idf1']:.3f}" for k in kinds) + " |"]
    for label, row in table.items():
        lines.append(f"| {label} | " + " | ".join(f"{row[k]:.0%}" for k in kinds) + " |")
    return "\n".join(lines)


def rates_markdown(detected: Detected, trackers: dict[str, Callable] | None = None) -> str:
    """Re-entry and newcomer rates (:mod:`tracking_rates`) of each tracker, as a table."""
    lines = ["| tracker | re-entry: old id back | newcomer: new id |", "| --- | ---: | ---: |"]
    for label, make in (trackers or TRACKERS).items():
        r = rates(detected, make, images if label in IMAGE_TRACKERS else None)
        cells = [f"{r[k]['kept'] / r[k]['judged']:.0%} ({r[k]['kept']} of {r[k]['judged']}, "
                 f"{r[k]['scenes'] - r[k]['judged']} not judged)" if r[k]["judged"] else "-"
                 for k in ("reenter", "newcomer")]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def tune(detected: Detected) -> tuple[list[tuple[dict, dict]], list[tuple[dict, dict]]]:
    """Score the :data:`GRID` settings, then :data:`REID_GRID` with the best of them.

    Each list is best first (IDF1, then fewer ID switches).
    """
    def rank(grid: dict, base: dict, images: bool) -> list[tuple[dict, dict]]:
        results = []
        for values in itertools.product(*grid.values()):
            changes = {**base, **dict(zip(grid, values))}
            if changes.get("min_pose_score", 0) > changes.get("high_pose_score", 1):
                continue
            config = TrackerConfig().replace(**changes)
            figures = pooled(detected, lambda: _Ours(config), False, images)["all"]
            results.append((changes, figures))
        return sorted(results, key=lambda r: (-r[1]["idf1"], r[1]["num_switches"]))

    scores = rank(GRID, {"reid_max_age": 0.0}, images=False)
    best = {k: v for k, v in scores[0][0].items() if k in GRID}
    return scores, rank(REID_GRID, best, images=True)


def tune_looks(detected: Detected, ours: Callable = TRACKERS["ours"]
               ) -> list[tuple[dict, dict]]:
    """Score :data:`LOOKS_GRID` (cascade's look weighting of contested pairs), best first.

    The tracker's module constants are set for each candidate and restored after.
    """
    saved = cascade.APPEARANCE_POWER, cascade.CONTEST_SIMILARITY
    results = []
    try:
        for power, contest in itertools.product(*LOOKS_GRID.values()):
            cascade.APPEARANCE_POWER, cascade.CONTEST_SIMILARITY = power, contest
            figures = pooled(detected, ours, False, True)["all"]
            changes = {"APPEARANCE_POWER": power, "CONTEST_SIMILARITY": contest}
            results.append((changes, figures))
    finally:
        cascade.APPEARANCE_POWER, cascade.CONTEST_SIMILARITY = saved
    return sorted(results, key=lambda r: (-r[1]["idf1"], r[1]["num_switches"]))


def markdown(results: dict, order: Sequence[str] = seeded.KINDS + ("all",)) -> str:
    """One table: a row per (scene kind, tracker)."""
    lines = ["| scenes | tracker | IDF1 | ID switches | scenes with a switch | MOTA | HOTA | FP "
             "| FN |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind in order:
        for label, groups in results.items():
            if kind not in groups:
                continue
            r = groups[kind]
            name = f"**{kind}** ({r['scenes']})" if kind == "all" else f"{kind} ({r['scenes']})"
            lines.append(f"| {name} | {label} | {r['idf1']:.3f} | {int(r['num_switches'])} | "
                         f"{r['scenes_with_switch']} | {r['mota']:.3f} | {r['hota']:.3f} | "
                         f"{int(r['num_false_positives'])} | {int(r['num_misses'])} |")
    return "\n".join(lines)


def tune_markdown(results: list[tuple[dict, dict]], top: int = 10) -> str:
    """Return the best ``top`` settings of one :func:`tune` list as a table."""
    names = list(results[0][0])
    lines = ["| " + " | ".join(names) + " | IDF1 | ID switches | MOTA |",
             "|" + " ---: |" * (len(names) + 3)]
    for changes, r in results[:top]:
        lines.append("| " + " | ".join(str(changes[n]) for n in names) + f" | {r['idf1']:.3f} "
                     f"| {int(r['num_switches'])} | {r['mota']:.3f} |")
    return "\n".join(lines)
