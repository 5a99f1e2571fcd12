"""The REP-155 body frame from 3D keypoints: origin mid-hips, x forward, z up, a rotation."""
from __future__ import annotations

import numpy as np
from posenet_ros.camera.rigid import quaternion
from posenet_ros.core.keypoints import NUM_KEYPOINTS, PART_IDS
from posenet_ros.core.pose import Pose
from posenet_ros.outputs.body_frames import body_transform
import pytest

pytestmark = pytest.mark.unit


def _matrix(q) -> np.ndarray:
    """3x3 rotation of a unit quaternion (x, y, z, w), written out independently."""
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _person(points: dict) -> Pose:
    xyz = np.full((NUM_KEYPOINTS, 3), np.nan)
    for name, p in points.items():
        xyz[PART_IDS[name]] = p
    return Pose(score=1.0, positions=np.zeros((NUM_KEYPOINTS, 2)),
                keypoint_scores=np.ones(NUM_KEYPOINTS), track_id=1, keypoints_3d=xyz)


def test_a_person_facing_the_camera_faces_it():
    # Optical frame: x right, y down, z forward. The person's left is the image's right.
    pose = _person({"leftHip": (0.2, 0.0, 3.0), "rightHip": (-0.2, 0.0, 3.0),
                    "leftShoulder": (0.25, -0.5, 3.0), "rightShoulder": (-0.25, -0.5, 3.0)})
    origin, q = body_transform(pose)
    np.testing.assert_allclose(origin, (0.0, 0.0, 3.0))
    axes = _matrix(q)
    np.testing.assert_allclose(axes[:, 0], (0, 0, -1), atol=1e-9)   # forward: at the camera
    np.testing.assert_allclose(axes[:, 1], (1, 0, 0), atol=1e-9)    # left
    np.testing.assert_allclose(axes[:, 2], (0, -1, 0), atol=1e-9)   # up


def test_no_frame_without_both_hips_and_camera_up_without_shoulders():
    assert body_transform(_person({"leftHip": (0.2, 0.0, 3.0)})) is None
    origin, q = body_transform(_person({"leftHip": (0.2, 0.0, 3.0),
                                        "rightHip": (-0.2, 0.0, 3.0)}))
    np.testing.assert_allclose(_matrix(q)[:, 2], (0, -1, 0), atol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_quaternion_round_trips_any_rotation(seed):
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rotation *= np.sign(np.linalg.det(rotation))
    np.testing.assert_allclose(_matrix(quaternion(rotation)), rotation, atol=1e-9)
