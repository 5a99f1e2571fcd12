"""REP-155 bodies without ROS: ids, the 18-point skeleton, the region, and when bodies go."""
from __future__ import annotations

import numpy as np
from posenet_ros.core.keypoints import NUM_KEYPOINTS, PART_IDS
from posenet_ros.core.pose import Pose
from posenet_ros.outputs.rep155 import body_id, BodyRegistry, skeleton18
import pytest

pytestmark = pytest.mark.unit


def test_body_ids_are_short_and_distinct():
    ids = [body_id(t) for t in range(1, 5000)]
    assert len(set(ids)) == len(ids) and max(map(len, ids)) <= 4
    assert (body_id(1), body_id(35), body_id(36)) == ("b1", "bz", "b10")


def test_skeleton_normalises_and_makes_a_neck():
    rng = np.random.default_rng(3)
    positions = rng.uniform(0, 100, (NUM_KEYPOINTS, 2)) * (6.4, 4.8)
    scores = rng.uniform(0, 1, NUM_KEYPOINTS)
    out = skeleton18(Pose(1.0, positions, scores), 640, 480)
    ls, rs = PART_IDS["leftShoulder"], PART_IDS["rightShoulder"]
    np.testing.assert_allclose(out[1], [*((positions[ls] + positions[rs]) / 2 / (640, 480)),
                                        min(scores[ls], scores[rs])])
    np.testing.assert_allclose(out[0], [*(positions[PART_IDS["nose"]] / (640, 480)),
                                        scores[PART_IDS["nose"]]])
    np.testing.assert_allclose(out[17], [*(positions[PART_IDS["rightEar"]] / (640, 480)),
                                         scores[PART_IDS["rightEar"]]])
    positions[PART_IDS["nose"]] = np.nan
    assert skeleton18(Pose(1.0, positions, scores), 640, 480)[0].tolist() == [0, 0, 0]


def test_bodies_stay_through_gaps_shorter_than_max_age_and_are_bounded():
    reg = BodyRegistry(max_age=1.0, max_bodies=2)
    assert reg.update([1, 2, 3], 0.0) == ([1, 2], [])     # the third waits for a place
    assert reg.update([1], 0.9) == ([], [])              # 2 unseen for 0.9 s: stays
    assert reg.update([1, 3], 1.5) == ([3], [2])         # 2 gone after 1.5 s; 3 takes its place
    assert reg.update([], 0.0) == ([], [1, 3])           # stamps went back: all gone
