"""Multi-pose decoding steps on tiny hand-built tensors: local maxima, heap order, edges, NMS."""
import numpy as np
from posenet_ros.core.keypoints import NUM_EDGES, NUM_KEYPOINTS, PART_IDS, POSE_CHAIN
from posenet_ros.families.posenet.decode import decode_multiple_poses
from posenet_ros.families.posenet.decode.candidates import root_candidates
from posenet_ros.families.posenet.decode.edges import decode_poses, nearest_cell
from posenet_ros.families.posenet.decode.max_heap import heap_order
from tensors import blank_outputs

STRIDE = 16
NOSE, LEFT_EYE = PART_IDS["nose"], PART_IDS["leftEye"]


def test_local_maximum_needs_threshold_and_no_strictly_higher_neighbour():
    heat, *_ = blank_outputs()
    heat[NOSE, 2, 2] = 0.9
    heat[NOSE, 2, 3] = 0.8          # neighbour of a higher cell: not a root
    heat[NOSE, 0, 0] = 0.7          # separate local maximum
    heat[NOSE, 4, 4] = 0.4          # below threshold
    heat[LEFT_EYE, 1, 1] = heat[LEFT_EYE, 1, 2] = 0.6   # plateau: both kept, as in tfjs
    parts, ys, xs, scores = root_candidates(heat, 0.5)
    got = set(zip(parts.tolist(), ys.tolist(), xs.tolist()))
    assert got == {(NOSE, 2, 2), (NOSE, 0, 0), (LEFT_EYE, 1, 1), (LEFT_EYE, 1, 2)}
    assert list(scores) == sorted(scores, reverse=True)


def test_heap_order_reproduces_tfjs_maxheap_on_ties():
    # Worked by hand through tfjs MaxHeap: enqueue 0,1,2 (all equal) dequeues 0, 2, 1.
    assert heap_order(np.array([1.0, 1.0, 1.0])).tolist() == [0, 2, 1]
    # Without ties it is simply descending order.
    values = np.array([0.2, 0.9, 0.5, 0.7])
    assert heap_order(values).tolist() == [1, 3, 2, 0]


def test_nearest_cell_rounds_halves_up_like_javascript():
    cells = nearest_cell(np.array([[24.0, 8.0], [999.0, -30.0]]), STRIDE, 5, 5)   # (y, x)
    assert cells[:, 1].tolist() == [1, 0]     # x: 8/16 = 0.5 -> 1 (numpy's round gives 0)
    assert cells[:, 0].tolist() == [2, 4]     # y: 24/16 = 1.5 -> 2; clamped at the grid edge


def test_a_hop_follows_displacement_then_snaps_to_target_offsets():
    heat, offsets, fwd, bwd = blank_outputs()
    edge = POSE_CHAIN.index((NOSE, LEFT_EYE))
    root_xy = np.array([[2 * STRIDE, 2 * STRIDE]], float)         # nose (x, y) at cell (2, 2)
    fwd[edge, 2, 2], fwd[NUM_EDGES + edge, 2, 2] = -STRIDE, STRIDE   # jump to cell (1, 3)
    offsets[LEFT_EYE, 1, 3], offsets[NUM_KEYPOINTS + LEFT_EYE, 1, 3] = 1.5, -2.5
    heat[LEFT_EYE, 1, 3] = 0.75
    xy, scores = decode_poses(np.array([NOSE]), root_xy, np.array([0.9]), heat, offsets, fwd,
                              bwd, STRIDE)
    assert xy[0, LEFT_EYE].tolist() == [3 * STRIDE - 2.5, 1 * STRIDE + 1.5]
    assert scores[0, LEFT_EYE] == np.float32(0.75)
    assert xy[0, NOSE].tolist() == root_xy[0].tolist() and scores[0, NOSE] == 0.9


def _person(heat, offsets, y, x, score):
    """All 17 parts peak at one cell: a person whose every edge has zero displacement."""
    heat[:, y, x] = score
    offsets[:, y, x] = 0.0


def test_nms_rejects_a_root_near_an_accepted_pose_and_scores_claimed_parts_out():
    heat, offsets, fwd, bwd = blank_outputs(9, 9)
    _person(heat, offsets, 2, 2, 0.9)
    _person(heat, offsets, 6, 6, 0.8)
    heat[NOSE, 3, 4] = 0.85    # separate local max, but within 40 px of person 1's nose
    poses = decode_multiple_poses(heat, offsets, fwd, bwd, STRIDE, 5, 0.5, nms_radius=40.0)
    roots = sorted((p.positions[0, 1], p.positions[0, 0]) for p in poses)
    assert roots == [(2 * STRIDE, 2 * STRIDE), (6 * STRIDE, 6 * STRIDE)]
    # With a radius covering both people, the second one's parts are all claimed: score 0.
    poses = decode_multiple_poses(heat, offsets, fwd, bwd, STRIDE, 5, 0.5, nms_radius=200.0)
    assert len(poses) == 1


def test_soft_instance_score_counts_only_unclaimed_keypoints():
    heat, offsets, fwd, bwd = blank_outputs(9, 9)
    _person(heat, offsets, 2, 2, 0.9)
    # A second root (leftAnkle) far away whose backward displacement to the knee leads into
    # person 1: every part but the ankle lands on person 1's parts and is claimed.
    ankle, knee = PART_IDS["leftAnkle"], PART_IDS["leftKnee"]
    heat[ankle, 7, 7] = 0.8
    edge = POSE_CHAIN.index((knee, ankle))
    bwd[edge, 7, 7] = bwd[NUM_EDGES + edge, 7, 7] = -5 * STRIDE
    poses = decode_multiple_poses(heat, offsets, fwd, bwd, STRIDE, 5, 0.5, nms_radius=20.0)
    assert len(poses) == 2
    first, second = poses
    assert np.isclose(first.score, np.float32(0.9))
    distance = np.hypot(*(second.positions - first.positions).T)
    claimed = [k for k in range(NUM_KEYPOINTS) if distance[k] <= 20.0]
    assert claimed == [k for k in range(NUM_KEYPOINTS) if k != ankle]
    assert np.isclose(second.score, np.float32(0.8) / NUM_KEYPOINTS)


def test_no_people_gives_no_poses():
    assert decode_multiple_poses(*blank_outputs(), STRIDE, 5, 0.5, 20.0) == []


def test_crowds_beyond_the_first_batch_are_all_found():
    h = w = 24
    heat, offsets, fwd, bwd = blank_outputs(h, w)
    people = [(y, x) for y in range(1, h, 4) for x in range(1, w, 4)]   # 36 people
    for i, (y, x) in enumerate(people):
        _person(heat, offsets, y, x, 0.6 + i / 200)
    poses = decode_multiple_poses(heat, offsets, fwd, bwd, STRIDE, 100, 0.5, 20.0)
    assert len(poses) == len(people)
    assert [p.score for p in poses] == sorted((p.score for p in poses), reverse=True)
    poses = decode_multiple_poses(heat, offsets, fwd, bwd, STRIDE, 5, 0.5, 20.0)
    assert len(poses) == 5
