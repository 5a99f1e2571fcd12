"""The MoveNet speed bench against the real pose-detection reference, on a few real frames.

Timings are not asserted (speed is measured, not tested); what is tested is the bookkeeping a
reader trusts the figures for: which frames are timed, that both sides time the same ones,
that each block gives a ratio and that both sides find the same people.
"""
from __future__ import annotations

from posenet_ros.bench import movenet_speed
from posenet_ros.core import paths
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.imaging.files import iter_video
import pytest

pytest_plugins = ["parity_fixtures"]   # movenet_reference


@pytest.fixture(scope="module")
def frames():
    video = paths.sample_video()
    if not video.is_file():
        pytest.skip(f"sample video missing: {video} (make setup)")
    out = []
    for frame in iter_video(video):
        out.append(frame)
        if len(out) == 13:              # one full block and one of three frames
            return out
    return out


def test_blocks_time_the_same_frames_on_both_sides(movenet_reference, frames):
    result = movenet_speed.measure_movenet(EstimatorConfig(model="movenet-lightning"), frames,
                                           movenet_reference)
    per_round = sum(max(0, min(movenet_speed.BLOCK, len(frames) - start)
                        - movenet_speed.SWITCH_WARMUP)
                    for start in range(0, len(frames), movenet_speed.BLOCK))
    assert result.frames == movenet_speed.ROUNDS * per_round
    low, high = result.block_ratios
    assert low <= high and low > 0
    assert result.ratio is not None and result.ratio > 0
    # Same crop logic on the same frames: the same number of people on each timed frame.
    assert result.reference_people_mean == pytest.approx(result.people_mean)


def test_without_reference_no_ratio(frames):
    result = movenet_speed.measure_movenet(EstimatorConfig(model="movenet-lightning"),
                                           frames[:movenet_speed.SWITCH_WARMUP + 1])
    assert result.frames == movenet_speed.ROUNDS
    assert result.ratio is None and result.block_ratios is None
    assert "-" in movenet_speed.format_row(result)
