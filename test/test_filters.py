"""The filters against pose-detection 2.1.3.

Its own tests ported, independent formulas, and (where Node and the npm package are
installed) its compiled JavaScript run on the same input.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
import shutil
import subprocess

import numpy as np
from posenet_ros.core import paths
from posenet_ros.filters.keypoints_one_euro import KeypointsOneEuroFilter, object_scale
from posenet_ros.filters.low_pass import LowPassFilter
from posenet_ros.filters.one_euro import (
    FilterConfigError, MOVENET_KEYPOINT_FILTER, OneEuroFilter, OneEuroFilterConfig)
from posenet_ros.filters.one_euro_array import OneEuroArray
import pytest

HERE = Path(__file__).resolve().parent
# pose-detection's one_euro_filter_test.ts configuration.
TS_TEST_CONFIG = OneEuroFilterConfig(frequency=30.0, min_cutoff=15.5, beta=20.2,
                                     derivate_cutoff=21.5, threshold_cutoff=0.02,
                                     threshold_beta=0.5)


def _pose_detection_dir() -> Path | None:
    override = os.environ.get("POSENET_ROS_POSE_DETECTION")
    candidate = Path(override) if override else (
        paths.home() / "reference" / "node_modules" / "@tensorflow-models" / "pose-detection")
    if shutil.which("node") and (candidate / "dist" / "shared" / "filters").is_dir():
        return candidate
    return None


def _run_reference(job: dict) -> dict:
    package = _pose_detection_dir()
    if package is None:
        pytest.skip("node or the pose-detection 2.1.3 npm package (make reference) is missing")
    done = subprocess.run(["node", str(HERE / "filters_reference.js"), str(package)],
                          input=json.dumps(job), capture_output=True, text=True, timeout=60,
                          check=True)
    return json.loads(done.stdout)


def test_outputs_in_convex_hull_of_inputs():
    """pose-detection one_euro_filter_test.ts, 'outputs are in convex hull of inputs'."""
    f = OneEuroFilter(TS_TEST_CONFIG)
    assert f.apply(-1.0, 1, 1) == -1.0
    out1 = f.apply(2.0, 15, 1)
    assert -1.0 < out1 < 2.0
    out2 = f.apply(-3.0, 33, 1)
    assert -3.0 < out2 < 2.0


def test_two_steps_match_the_paper_formula():
    """Second output from the 1 Euro paper's definitions (tau/Te form), computed here."""
    cfg = OneEuroFilterConfig(frequency=30.0, min_cutoff=1.7, beta=0.3, derivate_cutoff=1.1)
    f = OneEuroFilter(cfg)
    t0, t1, x0, x1, scale = 1_000_000, 1_040_000, 10.0, 14.0, 0.5
    assert f.apply(x0, t0, scale) == x0
    te = (t1 - t0) / 1e6

    def smoothing(cutoff):
        tau = 1 / (2 * math.pi * cutoff)
        return 1 / (1 + tau / te)

    # The speed filter started at 0 on the first frame (no previous value), so it moves
    # from 0 towards the measured speed with its own smoothing factor.
    speed = smoothing(cfg.derivate_cutoff) * (x1 - x0) * scale / te
    cutoff = cfg.min_cutoff + cfg.beta * abs(speed)
    expected = x0 + smoothing(cutoff) * (x1 - x0)
    assert f.apply(x1, t1, scale) == pytest.approx(expected, rel=1e-12)


def test_stamp_not_after_previous_passes_through_unchanged():
    f = OneEuroFilter(TS_TEST_CONFIG)
    f.apply(1.0, 1000, 1)
    second = f.apply(5.0, 2000, 1)
    assert f.apply(9.0, 2000, 1) == 9.0    # same stamp: raw value, state untouched
    assert f.apply(9.0, 1500, 1) == 9.0    # earlier stamp: same
    g = OneEuroFilter(TS_TEST_CONFIG)
    g.apply(1.0, 1000, 1)
    assert g.apply(5.0, 2000, 1) == second
    assert f.apply(3.0, 3000, 1) == g.apply(3.0, 3000, 1)
    assert f.apply(None, 4000, 1) is None


def test_low_pass_threshold_caps_outliers():
    f = LowPassFilter(0.5)
    assert f.apply(0.0) == 0.0
    assert f.apply(100.0, threshold=1.0) == pytest.approx(0.5 * math.asinh(100.0))
    assert f.last_raw_value() == 100.0
    f.reset()
    assert not f.has_last_raw_value() and f.apply(7.0) == 7.0


def test_config_rejects_bad_values():
    for bad in ({"min_cutoff": 0}, {"beta": -1}, {"frequency": math.nan},
                {"threshold_cutoff": 0.0}, {"derivate_cutoff": -2}):
        with pytest.raises(FilterConfigError):
            OneEuroFilterConfig(**bad)


def _random_walk(rng, steps, shape):
    return np.cumsum(rng.normal(0, 3, size=(steps,) + shape), axis=0) + 100


@pytest.mark.parametrize("config", [TS_TEST_CONFIG, MOVENET_KEYPOINT_FILTER,
                                    OneEuroFilterConfig(min_cutoff=0.8, beta=0.05)])
def test_array_equals_one_scalar_filter_per_element(config):
    rng = np.random.default_rng(3)
    values = _random_walk(rng, 40, (4, 3))
    stamps = np.cumsum(rng.integers(20_000, 120_000, size=40)) + 0.7
    stamps[17] = stamps[16]                      # a repeated stamp
    mask = rng.random((40, 4, 3)) > 0.2
    values[5, 1, 2] = np.nan
    bank = OneEuroArray(config, (4, 3))
    scalars = [[OneEuroFilter(config) for _ in range(3)] for _ in range(4)]
    for t, frame in enumerate(values):
        got = bank.apply(frame, stamps[t], 0.8, mask=mask[t])
        for i in range(4):
            for j in range(3):
                v = frame[i, j]
                skip = not mask[t, i, j] or np.isnan(v)
                want = v if skip else scalars[i][j].apply(float(v), stamps[t], 0.8)
                np.testing.assert_allclose(got[i, j], want, rtol=1e-12, equal_nan=True)


def test_array_rows_are_independent_filters():
    rng = np.random.default_rng(5)
    values = _random_walk(rng, 10, (2, 17, 2))
    bank = OneEuroArray(TS_TEST_CONFIG, (5, 17, 2))
    alone = [OneEuroArray(TS_TEST_CONFIG, (17, 2)) for _ in range(2)]
    rows = np.array([3, 1])
    for t, frame in enumerate(values):
        got = bank.apply(frame, 1000 + 33_333 * t, index=rows)
        for k in range(2):
            np.testing.assert_array_equal(got[k], alone[k].apply(frame[k], 1000 + 33_333 * t))
    bank.reset(np.array([3]))
    np.testing.assert_array_equal(bank.apply(values[0], 9e6, index=rows)[0], values[0, 0])


def test_keypoints_filter_value_scaling_and_reset():
    cfg = OneEuroFilterConfig(min_cutoff=1.0, beta=0.5, min_allowed_object_scale=1e-6)
    points = np.array([[10.0, 20.0], [30.0, 60.0], [20.0, 40.0]])
    assert object_scale(points) == pytest.approx((20 + 40) / 2)
    f = KeypointsOneEuroFilter(cfg)
    f.apply(points, 1000, object_scale(points))
    moved = points + 5
    scaled = f.apply(moved, 34_333, object_scale(moved))
    ref = [[OneEuroFilter(cfg) for _ in range(2)] for _ in range(3)]
    for i in range(3):
        for j in range(2):
            ref[i][j].apply(points[i, j], 1000, 1 / 30)
            assert scaled[i, j] == pytest.approx(ref[i][j].apply(moved[i, j], 34_333, 1 / 30))
    np.testing.assert_array_equal(f.apply(moved, 70_000, 0.0), moved)   # scale too small
    assert f.apply(None, 80_000) is None
    np.testing.assert_array_equal(f.apply(points, 90_000, 30.0), points)  # fresh history


def test_matches_pose_detection_javascript():
    """Same inputs through pose-detection 2.1.3's compiled filters in Node."""
    rng = np.random.default_rng(11)
    stamps = (np.cumsum(rng.integers(15_000, 90_000, size=30)) + 0.5).tolist()
    stamps[9] = stamps[8]
    values = _random_walk(rng, 30, ()).tolist()
    scales = rng.uniform(0.2, 2.0, size=30).tolist()
    ts_cfg = {"frequency": 30.0, "minCutOff": 15.5, "beta": 20.2, "derivateCutOff": 21.5,
              "thresholdCutOff": 0.02, "thresholdBeta": 0.5}
    kp_values = (_random_walk(rng, 30, (17, 2)) / 500).tolist()
    mv_cfg = {"frequency": 30, "minCutOff": 2.5, "beta": 300.0, "derivateCutOff": 2.5,
              "thresholdCutOff": 0.5, "thresholdBeta": 5.0, "disableValueScaling": True}
    alphas = rng.uniform(0.05, 0.95, size=12).tolist()
    lp_steps = [[v, a, (None if i % 3 else 0.7)] for i, (v, a) in
                enumerate(zip(values[:12], alphas))]
    job = {"scalar": {"config": ts_cfg, "steps": list(zip(values, stamps, scales))},
           "keypoints": {"config": mv_cfg, "steps": [[kp, t, 1] for kp, t in
                                                     zip(kp_values, stamps)]},
           "lowpass": {"alpha": 0.3, "steps": lp_steps}}
    ref = _run_reference(job)
    f = OneEuroFilter(TS_TEST_CONFIG)
    ours = [f.apply(v, t, s) for v, t, s in zip(values, stamps, scales)]
    np.testing.assert_allclose(ours, ref["scalar"], rtol=1e-13, atol=0)
    k = KeypointsOneEuroFilter(MOVENET_KEYPOINT_FILTER)
    ours_kp = [k.apply(np.array(kp), t, 1) for kp, t in zip(kp_values, stamps)]
    np.testing.assert_allclose(np.array(ours_kp), np.array(ref["keypoints"]), rtol=1e-12)
    lp = LowPassFilter(0.3)
    ours_lp = [lp.apply_with_alpha(v, a, th) for v, a, th in lp_steps]
    np.testing.assert_allclose(ours_lp, ref["lowpass"], rtol=1e-14)
