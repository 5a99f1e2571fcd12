"""Evaluation smoke test: two real people cross at walking speed, 10 fps, on vtest's street.

Scored with motmetrics as the bench does; it must see no id switch for our tracker, and the
same scoring must report the switch when the ids are swapped after the crossing (so the test
can fail).
"""
from __future__ import annotations

import numpy as np
from posenet_ros.bench import tracking_eval, tracking_scenes
from posenet_ros.estimator import PoseEstimator
import pytest

pytest.importorskip("motmetrics")


@pytest.fixture(scope="module")
def crossing():
    scene = tracking_scenes.scenes(tracking_scenes.load_sprites())[0]
    assert scene.name == "cross, walking, 10 fps"
    estimator = PoseEstimator(providers=("cpu",), input_resolution=385)
    return tracking_eval.detect_scene(estimator, scene, tracking_scenes.background())


class _SwapAfter:
    """Our tracker, with ids 1 and 2 exchanged from a stamp on: a deliberate swap."""

    def __init__(self, stamp: float) -> None:
        self._inner = tracking_eval.TRACKERS["ours"]()
        self._stamp = stamp

    def update(self, poses, stamp):
        out = self._inner.update(poses, stamp)
        if stamp >= self._stamp:
            out = [({1: 2, 2: 1}.get(i, i), box) for i, box in out]
        return out


def test_no_id_switch_when_two_people_cross_at_walking_speed(crossing):
    ours = tracking_eval.score(crossing, tracking_eval.TRACKERS["ours"])
    greedy = tracking_eval.score(crossing, tracking_eval.TRACKERS["greedy centre"])
    assert ours["num_switches"] == 0
    assert ours["idf1"] > greedy["idf1"]
    assert ours["idf1"] > 0.8


def test_scoring_sees_a_swap_at_the_crossing(crossing):
    middle = crossing[len(crossing) // 2][0]
    swapped = tracking_eval.score(crossing, lambda: _SwapAfter(middle))
    assert swapped["num_switches"] >= 2
    assert swapped["idf1"] < 0.7


def test_hota_on_the_papers_hand_worked_cases():
    from posenet_ros.bench.tracking_hota import HotaAccumulator
    box = np.array([[0.0, 0.0, 10.0, 20.0]])

    def hota(hyp_ids, shift=0.0):
        acc = HotaAccumulator()
        for h in hyp_ids:
            acc.update([1], box, [h] if h else [], box + [shift, 0, shift, 0] if h else [])
        return acc.compute()

    # One person, perfectly found, one id: HOTA = DetA = AssA = 1.
    assert hota([7, 7, 7, 7]) == pytest.approx({"hota": 1.0, "deta": 1.0, "assa": 1.0})
    # The id changes half way: each true positive's association Jaccard is
    # TPA / (TPA + FNA + FPA) = 2 / (2 + 2 + 0), so AssA = 0.5 and HOTA = sqrt(0.5).
    assert hota([7, 7, 8, 8]) == pytest.approx({"hota": 0.5 ** 0.5, "deta": 1.0, "assa": 0.5})
    # Found in 2 of 4 frames under one id: DetA = 2 / 4, AssA = 2 / (2 + 2 + 0) = 0.5.
    assert hota([7, 0, 7, 0])["deta"] == pytest.approx(0.5)
    assert hota([7, 0, 7, 0])["assa"] == pytest.approx(0.5)
    # Boxes shifted by 2 px: IoU = 16 * 20 / (2 * 200 - 160) = 2 / 3, so a true positive for
    # the 13 alphas <= 0.65 and nothing above: DetA = 13 / 19, AssA = 1.
    shifted = hota([7, 7, 7, 7], shift=2.0)
    assert shifted["deta"] == pytest.approx(13 / 19)
    assert shifted["hota"] == pytest.approx(13 / 19)


def test_before_issue_19_baseline_is_kept_beside_the_others():
    assert {"ours", "before issue 19", "OKS (pose-detection)", "IoU (pose-detection)",
            "greedy centre"} <= set(tracking_eval.TRACKERS)
