"""The ROS-free TF buffer: chains, interpolation, extrapolation, static vs dynamic, hostile input.

Expected values come from an independent computation: 4x4 homogeneous matrices built with
scipy's Rotation, multiplied by hand, and scipy's Slerp for rotations between samples.
"""
from __future__ import annotations

import numpy as np
from posenet_ros.camera.rigid import Rigid, transform_poses
from posenet_ros.camera.transforms import (
    LookupFailed, MAX_FRAME_NAME, TransformBuffer, TransformRefused)
from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.core.pose import Pose
import pytest
from scipy.spatial.transform import Rotation, Slerp

pytestmark = pytest.mark.unit


def _random(rng) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=3), Rotation.random(random_state=rng).as_quat()


def _matrix(translation, quaternion) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = Rotation.from_quat(quaternion).as_matrix()
    m[:3, 3] = translation
    return m


def _as_matrix(rigid: Rigid) -> np.ndarray:
    return _matrix(rigid.translation, rigid.rotation)


@pytest.mark.parametrize("seed", range(5))
def test_lookup_through_the_common_ancestor_equals_matrices_by_hand(seed):
    # map -> odom -> base_link -> camera_link -> camera_optical_frame
    #                          \-> arm -> hand
    rng = np.random.default_rng(seed)
    edges = [("map", "odom"), ("odom", "base_link"), ("base_link", "camera_link"),
             ("camera_link", "camera_optical_frame"), ("base_link", "arm"), ("arm", "hand")]
    buffer, parent_from_child = TransformBuffer(), {}
    for parent, child in edges:
        t, q = _random(rng)
        buffer.set_transform(parent, child, 0.0, t, q, static=True)
        parent_from_child[child] = _matrix(t, q)
    m = parent_from_child
    base_from_optical = m["camera_link"] @ m["camera_optical_frame"]
    base_from_hand = m["arm"] @ m["hand"]
    want = np.linalg.inv(base_from_hand) @ base_from_optical
    got = buffer.lookup("hand", "camera_optical_frame", 5.0)
    np.testing.assert_allclose(_as_matrix(got), want, atol=1e-12)
    map_from_optical = m["odom"] @ m["base_link"] @ base_from_optical
    np.testing.assert_allclose(_as_matrix(buffer.lookup("map", "camera_optical_frame", 0.0)),
                               map_from_optical, atol=1e-12)
    # The inverse direction, and points moved the way a consumer would move them.
    points = rng.normal(size=(5, 3))
    moved = buffer.lookup("camera_optical_frame", "map", 0.0).apply(points)
    by_hand = (np.linalg.inv(map_from_optical) @ np.c_[points, np.ones(5)].T).T[:, :3]
    np.testing.assert_allclose(moved, by_hand, atol=1e-12)


def test_dynamic_lookup_interpolates_translation_and_slerps_rotation():
    rng = np.random.default_rng(7)
    (t0, q0), (t1, q1) = _random(rng), _random(rng)
    buffer = TransformBuffer()
    buffer.set_transform("odom", "base_link", 100.0, t0, q0)
    buffer.set_transform("odom", "base_link", 100.4, t1, q1)
    for stamp in (100.0, 100.1, 100.25, 100.4):
        ratio = min((stamp - 100.0) / 0.4, 1.0)   # 100.4 - 100 rounds above 0.4
        got = buffer.lookup("odom", "base_link", stamp)
        np.testing.assert_allclose(got.translation, t0 + (t1 - t0) * ratio, atol=1e-9)
        want = Slerp([0.0, 1.0], Rotation.from_quat([q0, q1]))([ratio])
        np.testing.assert_allclose(Rotation.from_quat(got.rotation).as_matrix(),
                                   want.as_matrix()[0], atol=1e-9)
    # Stamp 0: the newest sample.
    np.testing.assert_allclose(buffer.lookup("odom", "base_link", 0.0).translation, t1)


def test_extrapolation_is_refused_with_tf2s_reason_and_statics_hold_at_any_stamp():
    buffer = TransformBuffer()
    buffer.set_transform("base_link", "camera", 0.0, (0.1, 0, 0.5), (0, 0, 0, 1), static=True)
    buffer.set_transform("odom", "base_link", 10.0, (1, 0, 0), (0, 0, 0, 1))
    buffer.set_transform("odom", "base_link", 11.0, (2, 0, 0), (0, 0, 0, 1))
    np.testing.assert_allclose(buffer.lookup("base_link", "camera", 1e9).translation,
                               (0.1, 0, 0.5))
    with pytest.raises(LookupFailed, match="extrapolation into the future") as future:
        buffer.lookup("odom", "camera", 11.5)
    assert future.value.cause == "extrapolation"
    assert "[base_link] to frame [odom]" in str(future.value)
    with pytest.raises(LookupFailed, match="extrapolation into the past"):
        buffer.lookup("odom", "camera", 9.0)
    np.testing.assert_allclose(buffer.lookup("odom", "camera", 10.5).translation, (1.6, 0, 0.5))
    # Latest common time across a dynamic chain: the older of the newest samples.
    buffer.set_transform("map", "odom", 10.5, (0, 1, 0), (0, 0, 0, 1))
    np.testing.assert_allclose(buffer.lookup("map", "camera", 0.0).translation,
                               (1.6, 1.0, 0.5))


def test_missing_and_unconnected_frames_are_named():
    buffer = TransformBuffer()
    buffer.set_transform("base_link", "camera", 0.0, (0, 0, 0), (0, 0, 0, 1), static=True)
    buffer.set_transform("world", "marker", 0.0, (0, 0, 0), (0, 0, 0, 1), static=True)
    with pytest.raises(LookupFailed, match="'map' passed to lookupTransform argument "
                       "target_frame does not exist") as missing:
        buffer.lookup("map", "camera", 1.0)
    assert missing.value.cause == "lookup"
    with pytest.raises(LookupFailed, match="not part of the same tree") as apart:
        buffer.lookup("world", "camera", 1.0)
    assert apart.value.cause == "connectivity"
    with pytest.raises(LookupFailed, match="source_frame - frame_id must not be empty"):
        buffer.lookup("base_link", "", 1.0)


def test_dynamic_samples_age_out_and_are_bounded_in_number():
    buffer = TransformBuffer(cache_time=10.0, max_samples=50)
    for i in range(300):            # 30 s at 10 Hz
        buffer.set_transform("odom", "base_link", 100.0 + i / 10, (i, 0, 0), (0, 0, 0, 1))
    assert buffer.samples() == 50   # the count bound (10 s would be 101): 125.0 .. 129.9
    np.testing.assert_allclose(buffer.lookup("odom", "base_link", 125.0).translation, (250, 0, 0))
    with pytest.raises(LookupFailed, match="past"):
        buffer.lookup("odom", "base_link", 124.95)
    buffer = TransformBuffer(cache_time=2.0)
    for i in range(300):
        buffer.set_transform("odom", "base_link", 100.0 + i / 10, (i, 0, 0), (0, 0, 0, 1))
    assert buffer.samples() == 21   # stamps 127.9 .. 129.9: 2 s behind the newest
    with pytest.raises(TransformRefused, match="older than") as old:
        buffer.set_transform("odom", "base_link", 120.0, (0, 0, 0), (0, 0, 0, 1))
    assert old.value.cause == "old"
    # Out of order within the window is stored in order.
    buffer.set_transform("odom", "base_link", 129.85, (-1, 0, 0), (0, 0, 0, 1))
    np.testing.assert_allclose(buffer.lookup("odom", "base_link", 129.85).translation,
                               (-1, 0, 0))


def test_static_frames_stay_and_a_reparented_frame_starts_over():
    buffer = TransformBuffer(cache_time=1.0)
    buffer.set_transform("base_link", "camera", 0.0, (0, 0, 1), (0, 0, 0, 1), static=True)
    buffer.set_transform("odom", "base_link", 1000.0, (0, 0, 0), (0, 0, 0, 1))
    np.testing.assert_allclose(buffer.lookup("odom", "camera", 1000.0).translation, (0, 0, 1))
    buffer.set_transform("arm", "camera", 5.0, (0, 2, 0), (0, 0, 0, 1))   # now dynamic, new parent
    with pytest.raises(LookupFailed, match="does not exist|same tree"):
        buffer.lookup("base_link", "camera", 5.0)
    np.testing.assert_allclose(buffer.lookup("arm", "camera", 5.0).translation, (0, 2, 0))


@pytest.mark.parametrize("translation, rotation, match", [
    ((np.nan, 0, 0), (0, 0, 0, 1), "translation .* not finite"),
    ((0, 0, np.inf), (0, 0, 0, 1), "translation .* not finite"),
    ((0, 0, 0), (0, 0, 0, 0), "not a unit quaternion"),
    ((0, 0, 0), (np.nan, 0, 0, 1), "rotation .* not finite"),
    ((0, 0, 0), (0, 0, 0, 1.1), "not a unit quaternion"),
])
def test_bad_values_are_refused_and_never_stored(translation, rotation, match):
    buffer = TransformBuffer()
    with pytest.raises(TransformRefused, match=match):
        buffer.set_transform("a", "b", 1.0, translation, rotation)
    assert len(buffer) == 0
    # A float32-rounded unit quaternion is renormalised, as tf2 accepts it.
    q = np.float32(np.sqrt(0.5))
    buffer.set_transform("a", "b", 1.0, (0, 0, 0), (0, 0, q, q))
    assert np.linalg.norm(buffer.lookup("a", "b", 1.0).rotation) == pytest.approx(1.0, abs=1e-15)


def test_self_parents_loops_long_names_and_floods_are_refused_with_bounded_memory():
    buffer = TransformBuffer(max_frames=100, cache_time=10.0)
    with pytest.raises(TransformRefused, match="its own parent"):
        buffer.set_transform("a", "a", 1.0, (0, 0, 0), (0, 0, 0, 1))
    buffer.set_transform("a", "b", 1.0, (0, 0, 0), (0, 0, 0, 1))
    buffer.set_transform("b", "c", 1.0, (0, 0, 0), (0, 0, 0, 1))
    with pytest.raises(TransformRefused, match="loop") as loop:
        buffer.set_transform("c", "a", 1.0, (0, 0, 0), (0, 0, 0, 1))
    assert loop.value.cause == "loop"
    np.testing.assert_allclose(buffer.lookup("a", "c", 1.0).translation, (0, 0, 0))
    huge = "x" * 1_000_000
    with pytest.raises(TransformRefused, match=f"longer than {MAX_FRAME_NAME}") as long_name:
        buffer.set_transform("a", huge, 1.0, (0, 0, 0), (0, 0, 0, 1))
    assert len(str(long_name.value)) < 300
    with pytest.raises(TransformRefused, match="is empty"):
        buffer.set_transform("/", "b", 1.0, (0, 0, 0), (0, 0, 0, 1))
    # A flood of new frames: the table stops at max_frames; the tree in it keeps working.
    refused = 0
    for i in range(1000):
        try:
            buffer.set_transform("a", f"flood_{i}", 1.0 + i * 1e-3, (0, 0, 0), (0, 0, 0, 1))
        except TransformRefused as exc:
            assert exc.cause == "full"
            refused += 1
    assert len(buffer) == 100 and refused == 1000 - 98
    np.testing.assert_allclose(buffer.lookup("a", "c", 1.0).translation, (0, 0, 0))
    # A static frame (a camera mount sent after the flood) takes a dynamic frame's place.
    buffer.set_transform("a", "mount", 0.0, (0, 1, 0), (0, 0, 0, 1), static=True)
    assert len(buffer) == 100
    np.testing.assert_allclose(buffer.lookup("a", "mount", 1.5).translation, (0, 1, 0))
    # Frames silent for cache_time make room for new ones (dead tracks' body frames).
    buffer.set_transform("a", "late", 20.0, (1, 0, 0), (0, 0, 0, 1))
    assert len(buffer) == 100
    np.testing.assert_allclose(buffer.lookup("a", "late", 20.0).translation, (1, 0, 0))


def test_leading_slash_is_stripped_as_tf2_does():
    buffer = TransformBuffer()
    buffer.set_transform("/base_link", "/camera", 0.0, (1, 2, 3), (0, 0, 0, 1), static=True)
    np.testing.assert_allclose(buffer.lookup("base_link", "camera", 0.0).translation, (1, 2, 3))


def test_poses_move_with_the_transform_and_missing_depth_stays_missing():
    rng = np.random.default_rng(3)
    t, q = _random(rng)
    xyz = rng.normal(size=(NUM_KEYPOINTS, 3))
    xyz[[2, 9]] = np.nan
    pose = Pose(score=0.9, positions=rng.uniform(0, 100, (NUM_KEYPOINTS, 2)),
                keypoint_scores=rng.uniform(size=NUM_KEYPOINTS), track_id=4,
                keypoints_3d=xyz, position_3d=np.array([0.1, 0.2, 3.0]))
    flat = Pose(score=0.5, positions=pose.positions, keypoint_scores=pose.keypoint_scores)
    moved, same = transform_poses([pose, flat], Rigid.checked(t, q))
    m = _matrix(t, q)
    want = (m @ np.c_[xyz, np.ones(NUM_KEYPOINTS)].T).T[:, :3]
    np.testing.assert_allclose(moved.keypoints_3d, want, atol=1e-12)
    assert np.isnan(moved.keypoints_3d[[2, 9]]).all()
    np.testing.assert_allclose(moved.position_3d, (m @ [0.1, 0.2, 3.0, 1.0])[:3], atol=1e-12)
    assert moved.track_id == 4 and moved.positions is pose.positions
    assert same is flat
