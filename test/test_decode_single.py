"""Single-pose decoding on tiny hand-built tensors."""
import numpy as np
from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.families.posenet.decode import decode_single_pose
from tensors import blank_outputs

STRIDE = 16


def test_argmax_plus_offset_gives_position_and_mean_score():
    heat, offsets, _, _ = blank_outputs()
    rng = np.random.default_rng(0)
    cells = rng.integers(0, 5, size=(NUM_KEYPOINTS, 2))
    for k, (y, x) in enumerate(cells):
        heat[k, y, x] = 0.5 + k / 40
        offsets[k, y, x] = k - 3.5           # y offset
        offsets[NUM_KEYPOINTS + k, y, x] = 2.25 - k      # x offset
    pose = decode_single_pose(heat, offsets, STRIDE)
    score, xy, scores = pose.score, pose.positions, pose.keypoint_scores
    for k, (y, x) in enumerate(cells):
        assert xy[k, 0] == x * STRIDE + (2.25 - k)
        assert xy[k, 1] == y * STRIDE + (k - 3.5)
        assert scores[k] == np.float32(0.5 + k / 40)
    assert np.isclose(score, scores.mean())


def test_ties_pick_the_first_cell_in_row_major_order():
    heat, offsets, _, _ = blank_outputs()
    heat[0, 3, 1] = heat[0, 1, 4] = 0.9       # (1, 4) comes first row-major
    xy = decode_single_pose(heat, offsets, STRIDE).positions
    assert tuple(xy[0]) == (4 * STRIDE, 1 * STRIDE)
