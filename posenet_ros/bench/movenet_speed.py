"""MoveNet end to end against pose-detection 2.1.3 (tfjs-wasm in Node), same frames, one run.

The two alternate in short blocks (``BLOCK`` frames through posenet_ros, then the same
frames through pose-detection, over all frames, twice). This VM's speed changes in phases of
a second or two (the same ONNX session takes 5 ms a run for a while, then 9 ms): PoseNet's
whole-video blocks (:mod:`posenet_ros.bench.run`) take a few seconds here and could fall into
different phases, short blocks share theirs. The first ``SWITCH_WARMUP`` frames of each block
are not timed, on either side: the Node process keeps a core busy for some milliseconds after
it replies (tfjs-wasm itself runs on one thread here, without wasm threads in Node; the rest
is V8's own), so the same ONNX session ran 11.6 ms instead of 5.7 ms right after a
pose-detection call; and each side's weights must come back into the caches.

Both sides treat the frames as one camera stream with stamps 1/25 s apart, whatever the
video's own rate and spacing (vtest.avi is 10 frames/s, and the bench spreads its frames over
it): the single-pose crop region follows the person, keypoints are smoothed. Each round
starts afresh. End to end is an RGB frame in memory -> poses; the reference's time is
pose-detection's ``estimatePoses`` measured inside Node (no transfer). ``block_ratios`` is
the spread of the ratio from block to block. The load average is recorded at the start and
end of each model's run: the machines are shared, and ratios from one run are the figures to
trust, not absolute milliseconds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import os
import time

import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.estimator import PoseEstimator
from posenet_ros.quantize.guard import FRAME_S

ROUNDS = 2
BLOCK = 10
SWITCH_WARMUP = 2       # untimed frames at the start of each block


@dataclass
class MoveNetResult:
    model: str
    frames: int
    people_mean: float
    input_size: tuple[int, int]
    ms: dict = field(default_factory=dict)          # stage -> median milliseconds
    reference_ms: float | None = None
    reference_people_mean: float | None = None
    block_ratios: tuple[float, float] | None = None   # lowest and highest ratio of one block
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute load at start and end

    @property
    def ratio(self) -> float | None:
        """How many times faster than pose-detection end to end (None without it)."""
        return self.reference_ms / self.ms["end_to_end"] if self.reference_ms else None

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def measure_movenet(config: EstimatorConfig, frames: list[np.ndarray],
                    reference=None) -> MoveNetResult:
    """Time ``config`` (a MoveNet model) on ``frames``, in short blocks with ``reference``."""
    load_start = os.getloadavg()[0]
    estimator = PoseEstimator(config)
    stages: dict[str, list[float]] = {k: [] for k in
                                      ("preprocess", "inference", "pose_decode", "end_to_end")}
    people, ref_ms, ref_people, blocks = [], [], [], []
    for block in range(ROUNDS):
        stream = f"bench-{block}"
        for start in range(0, len(frames), BLOCK):
            stop = min(start + BLOCK, len(frames))
            ours = []
            for i in range(start, stop):
                t = time.perf_counter()
                result = estimator.estimate(frames[i], stamp=i * FRAME_S, stream=stream)
                e2e = time.perf_counter() - t
                if i - start >= SWITCH_WARMUP:
                    times = result.times
                    for key, value in (("preprocess", times.preprocess),
                                       ("inference", times.inference),
                                       ("pose_decode", times.decode), ("end_to_end", e2e)):
                        stages[key].append(value * 1e3)
                    people.append(len(result.poses))
                    ours.append(e2e * 1e3)
            theirs = []
            for i in range(start, stop) if reference is not None else ():
                poses, ms = reference.estimate(frames[i], str(config.model), stream=stream,
                                               smoothing=config.smoothing,
                                               timestamp_ms=i * FRAME_S * 1e3, reset=i == 0)
                if i - start >= SWITCH_WARMUP:
                    theirs.append(ms)
                    ref_people.append(len(poses))
            if ours and theirs:
                blocks.append(float(np.median(theirs) / np.median(ours)))
            ref_ms += theirs
        estimator.reset(stream)
    h, w = frames[0].shape[:2]
    return MoveNetResult(
        model=estimator.model_name, frames=len(people),
        people_mean=float(np.mean(people)), input_size=estimator.input_size(w, h),
        ms={k: float(np.median(v)) for k, v in stages.items()},
        reference_ms=float(np.median(ref_ms)) if ref_ms else None,
        reference_people_mean=float(np.mean(ref_people)) if ref_people else None,
        block_ratios=(min(blocks), max(blocks)) if blocks else None,
        load_average=(load_start, os.getloadavg()[0]))


HEADER = (f"{'model':>20} {'input':>7} {'ppl':>4} | {'prep':>5} {'infer':>6} {'decode':>6} | "
          f"{'e2e ms':>7} {'tfjs ms':>7} {'ratio':>6} {'blocks':>10} | load")


def format_row(r: MoveNetResult) -> str:
    """One line of the MoveNet speed table."""
    ms = r.ms
    ratio = f"{r.ratio:5.1f}x" if r.ratio else "     -"
    blocks = f"{r.block_ratios[0]:.1f}-{r.block_ratios[1]:.1f}x" if r.block_ratios else "-"
    ref = f"{r.reference_ms:7.2f}" if r.reference_ms else "      -"
    size = f"{r.input_size[0]}x{r.input_size[1]}"
    return (f"{r.model:>20} {size:>7} {r.people_mean:4.1f} | {ms['preprocess']:5.2f} "
            f"{ms['inference']:6.2f} {ms['pose_decode']:6.2f} | {ms['end_to_end']:7.2f} {ref} "
            f"{ratio} {blocks:>10} | {r.load_average[0]:.1f}-{r.load_average[1]:.1f}")
