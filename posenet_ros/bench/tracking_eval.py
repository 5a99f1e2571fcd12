"""Tracking measured: IDF1, id switches, MOTA and HOTA, ours against four baselines.

Run ``python -m posenet_ros.bench.tracking_eval --report 60`` for the seeded scenes
(:mod:`tracking_seeded`; ``--tune 30`` searches the score thresholds on the TUNE seeds),
or with no option for the fixed scenarios and vtest.avi. Needs requirements/test.txt
(motmetrics). The same PoseNet detections feed every tracker, so the tables compare
association alone. IDF1, ID switches and MOTA come from motmetrics (py-motmetrics 1.4.0,
the MOTChallenge implementation): a hypothesis matches a ground-truth person when their
boxes overlap with IoU >= 0.5. HOTA is :mod:`tracking_hota`. Only confirmed tracks count
(id 0, tentative or untracked, is no hypothesis).
"""
from __future__ import annotations

import argparse
from pathlib import Path
import time
from typing import Callable, Iterable, Sequence

import numpy as np

from posenet_ros.bench import tracking_scenes as scenes_mod
from posenet_ros.bench.tracking_baselines import (
    GreedyCentreTracker, IouTracker, OksTracker, TrackerBefore)
from posenet_ros.bench.tracking_hota import HotaAccumulator
from posenet_ros.core import paths
from posenet_ros.core.pose import Pose
from posenet_ros.estimator import PoseEstimator
from posenet_ros.families.base import PoseModel
from posenet_ros.imaging.files import iter_video
from posenet_ros.stages.track.config import TrackerConfig
from posenet_ros.stages.track.similarity import box_iou
from posenet_ros.stages.track.tracker import PoseTracker

MAX_IOU_DISTANCE = 0.5
METRICS = ("idf1", "num_switches", "mota", "num_false_positives", "num_misses")
SCORES = METRICS + ("hota",)


def detect(estimator: PoseEstimator, image: np.ndarray) -> list[Pose]:
    """Return the estimator's poses for one image (one place for the result type)."""
    result = estimator.estimate(image)
    return list(result.poses)


class _Ours:
    def __init__(self, config: TrackerConfig, kind: type = PoseTracker) -> None:
        self._tracker = kind(config)

    def update(self, poses, stamp, image=None):
        return [(t.track_id, t.box) for t in self._tracker.update(poses, stamp, image=image)]


def trackers(confident_pose_score: float = PoseModel.confident_pose_score
             ) -> dict[str, Callable[[], object]]:
    """Return the trackers compared, ours at its defaults for a detector of that score."""
    ours = TrackerConfig().for_model(confident_pose_score)
    return {
        "ours": lambda: _Ours(ours),
        "ours, no re-id": lambda: _Ours(ours.replace(reid_max_age=0.0)),
        "before issue 19": lambda: _Ours(ours, TrackerBefore),
        "OKS (pose-detection)": OksTracker,
        "IoU (pose-detection)": IouTracker,
        "greedy centre": GreedyCentreTracker,
    }


TRACKERS = trackers()       # for PoseNet, the default model


IMAGE_TRACKERS = {"ours"}     # given each frame's image (re-identification's looks)


def score(frames: Sequence[tuple[float, list[Pose], list]], make_tracker) -> dict:
    """Return the motmetrics summary of a tracker over frames [(stamp, poses, truth)]."""
    import motmetrics as mm   # test/bench-only dependency

    acc, _ = accumulate(frames, make_tracker)
    summary = mm.metrics.create().compute(acc, metrics=list(METRICS), name="x")
    return {m: float(summary[m].iloc[0]) for m in METRICS}


def accumulate(frames: Sequence[tuple[float, list[Pose], list]], make_tracker,
               images: Sequence[np.ndarray] | None = None):
    """Run a fresh tracker over frames; return its motmetrics and HOTA accumulators.

    With ``images`` (one per frame) the tracker's ``update`` is given each as ``image``.
    """
    import motmetrics as mm   # test/bench-only dependency

    acc, hota = mm.MOTAccumulator(auto_id=True), HotaAccumulator()
    tracker = make_tracker()
    for k, (stamp, poses, truth) in enumerate(frames):
        extra = {} if images is None else {"image": images[k]}
        if getattr(tracker, "sees_truth", False):    # the association ceiling's oracle
            extra["truth"] = truth
        hyps = [(i, b) for i, b in tracker.update(poses, stamp, **extra) if i > 0]
        required, hyps = without_optional(truth, hyps)
        gt_boxes = np.array([b for _, b in required]).reshape(-1, 4)
        hyp_boxes = np.array([b for _, b in hyps], dtype=np.float64).reshape(-1, 4)
        dist = 1.0 - box_iou(gt_boxes, hyp_boxes)
        dist[dist > MAX_IOU_DISTANCE] = np.nan
        acc.update([g for g, _ in required], [i for i, _ in hyps], dist)
        hota.update([g for g, _ in required], gt_boxes, [i for i, _ in hyps], hyp_boxes)
    return acc, hota


def match(gt_boxes: np.ndarray, hyp_boxes: np.ndarray) -> list[tuple[int, int]]:
    """Return (truth row, hypothesis row) pairs of the frame's best IoU >= 0.5 matching."""
    from scipy.optimize import linear_sum_assignment

    if not len(gt_boxes) or not len(hyp_boxes):
        return []
    iou = box_iou(np.asarray(gt_boxes, float).reshape(-1, 4),
                  np.asarray(hyp_boxes, float).reshape(-1, 4))
    rows, cols = linear_sum_assignment(-iou)
    return [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= 1.0 - MAX_IOU_DISTANCE]


def without_optional(truth: Sequence[tuple], hyps: list[tuple[int, tuple]]
                     ) -> tuple[list[tuple[int, tuple]], list[tuple[int, tuple]]]:
    """Return the required truth and the hypotheses not matched to an optional person.

    Truth entries are (identity, box) or (identity, box, visible share); a person seen less
    than ``tracking_seeded.MIN_VISIBLE`` is optional. As in MOTChallenge's preprocessing of
    distractors, one IoU >= 0.5 matching over all people is made, and hypotheses matched to
    optional people are removed, so a track on them is neither a hit nor a false positive.
    """
    from posenet_ros.bench.tracking_seeded import MIN_VISIBLE

    required = [(t[0], t[1]) for t in truth if len(t) < 3 or t[2] >= MIN_VISIBLE]
    if len(required) == len(truth) or not hyps:
        return required, hyps
    pairs = match(np.array([t[1] for t in truth]), np.array([b for _, b in hyps]))
    dropped = {c for r, c in pairs if len(truth[r]) == 3 and truth[r][2] < MIN_VISIBLE}
    return required, [h for c, h in enumerate(hyps) if c not in dropped]


def detect_scene(estimator: PoseEstimator, scene, base) -> list[tuple[float, list, list]]:
    """Render a scenario and detect poses in each frame."""
    return [(t, detect(estimator, image), truth)
            for t, image, truth in scenes_mod.render(scene, base)]


def evaluate(estimator: PoseEstimator, names: Iterable[str] | None = None) -> list[dict]:
    """Return one row per (scenario, tracker)."""
    base = scenes_mod.background()
    wanted = None if names is None else set(names)
    rows = []
    for scene in scenes_mod.scenes(scenes_mod.load_sprites()):
        if wanted is not None and scene.name not in wanted:
            continue
        frames = detect_scene(estimator, scene, base)
        for label, make in TRACKERS.items():
            rows.append({"scenario": scene.name, "tracker": label, "frames": len(frames),
                         "crossing": scene.crossing, **score(frames, make)})
    return rows


def vtest_tracks(estimator: PoseEstimator, config: TrackerConfig | None = None,
                 limit: int | None = None) -> dict:
    """Count confirmed tracks on vtest.avi (10 fps, no ground truth): count, lengths, fragments.

    A fragment is a track that ends while its person was well inside the image (box >= 5% of
    the width from the left/right edges) before the video's end: the person is still there,
    so the track broke.
    """
    tracker = PoseTracker(config or TrackerConfig())
    spans: dict[int, list] = {}
    fps, width, stamp = 10.0, None, 0.0
    for index, image in enumerate(iter_video(paths.sample_video())):
        if limit is not None and index >= limit:
            break
        stamp, width = index / fps, image.shape[1]
        for t in tracker.update(detect(estimator, image), stamp):
            if t.track_id > 0:
                first = spans.get(t.track_id, [stamp])[0]
                spans[t.track_id] = [first, stamp, t.box]
    lengths = np.array([end - start for start, end, _ in spans.values()])
    margin = 0.05 * (width or 1)
    fragments = sum(1 for _, end, box in spans.values()
                    if end < stamp - 1.0 and box[0] > margin and box[2] < width - margin)
    minutes = max(stamp, 1e-9) / 60
    return {"tracks": len(spans), "minutes": minutes,
            "median_length_s": float(np.median(lengths)) if len(lengths) else 0.0,
            "mean_length_s": float(lengths.mean()) if len(lengths) else 0.0,
            "fragments_per_minute": fragments / minutes}


def markdown(rows: list[dict]) -> str:
    """Return the results as a markdown table."""
    lines = ["| scenario | tracker | frames | IDF1 | ID switches | MOTA | FP | FN |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['tracker']} | {r['frames']} | {r['idf1']:.3f} | "
                     f"{int(r['num_switches'])} | {r['mota']:.3f} | "
                     f"{int(r['num_false_positives'])} | {int(r['num_misses'])} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=385,
                        help="PoseNet input size (the seeded scenes: 257 is their scale)")
    parser.add_argument("--max-detections", type=int, default=10)
    parser.add_argument("--vtest-frames", type=int, default=None)
    parser.add_argument("--report", type=int, default=0, metavar="N",
                        help="score the first N REPORT seeds' scenes instead")
    parser.add_argument("--tune", type=int, default=0, metavar="N",
                        help="search the score thresholds on the first N TUNE seeds' scenes")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the seeded scenes' detections in this file")
    parser.add_argument("--model", default=None,
                        help="detector model name (default PoseNet), e.g. movenet-multipose")
    parser.add_argument("--kinds", default=None,
                        help="comma-separated scene kinds: the first N seeds of these kinds")
    args = parser.parse_args(argv)
    estimator = PoseEstimator(providers=("cpu",), input_resolution=args.resolution,
                              max_detections=args.max_detections, model=args.model)
    start = time.perf_counter()
    if args.report or args.tune:
        from posenet_ros.bench import tracking_report, tracking_seeded
        pool = tracking_seeded.TUNE_SEEDS if args.tune else tracking_seeded.REPORT_SEEDS
        wanted = args.kinds.split(",") if args.kinds else tracking_seeded.KINDS
        kinds = tracking_seeded.KINDS
        seeds = [s for s in pool if kinds[s % len(kinds)] in wanted][:args.tune or args.report]
        detected = tracking_report.detect_seeds(estimator, seeds, args.cache)
        compared = trackers(estimator.confident_pose_score)
        frames = sum(len(f) for _, _, f in detected)
        if args.tune:
            scores, reid = tracking_report.tune(detected)
            looks = tracking_report.tune_looks(detected, compared["ours"])
            tables = [tracking_report.tune_markdown(scores),
                      tracking_report.tune_markdown(reid, top=len(reid)),
                      tracking_report.tune_markdown(looks, top=len(looks))]
            text = "\n\n".join(tables)
        else:
            results = tracking_report.report(
                detected, {**compared, tracking_report.CEILING: tracking_report.Oracle})
            tables = [tracking_report.markdown(results), tracking_report.shares_markdown(results),
                      tracking_report.rates_markdown(detected, compared)]
            text = "\n\n".join(tables)
        out = [f"seeds {seeds[0]}-{seeds[-1]}: {len(detected)} scenes, {frames} frames, "
               f"{args.model or 'PoseNet'} {args.resolution} multi (max {args.max_detections})",
               "", text]
    else:
        rows = evaluate(estimator)
        out = [markdown(rows), ""]
        vt = vtest_tracks(PoseEstimator(providers=("cpu",), input_resolution=513),
                          limit=args.vtest_frames)
        out.append("vtest.avi (input 513): " + ", ".join(f"{k} {v:.2f}" for k, v in vt.items()))
    out.append(f"({time.perf_counter() - start:.0f} s)")
    import sys
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
