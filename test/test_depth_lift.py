"""3D keypoints on scenes of known geometry: real detections, synthetic depth.

The person is PoseNet's detection on basketball2.png (a real photo); the depth image is
rendered from a scene we set: a tilted wall far behind, and a person-shaped box (the
person's keypoint bounding box) at a known distance, with holes and 5 % noise (uniform,
+-5 % of the depth, per pixel). Expected 3D points are the scene's,
``Z * ((u - cx) / fx, (v - cy) / fy, 1)`` on the box, computed here from K, not by the code
under test.
"""
from __future__ import annotations

import cv2
import numpy as np
from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core import paths
from posenet_ros.core.config import ConfigError
from posenet_ros.core.pose import Pose
from posenet_ros.estimator import PoseEstimator
from posenet_ros.imaging.files import read_image
from posenet_ros.stages.depth.depth_image import decode_depth, DepthError, encode_depth
from posenet_ros.stages.depth.lift import depth_pixels, DepthConfig, lift_poses, TORSO, with_3d
import pytest

WIDTH, HEIGHT = 640, 480
K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
CAMERA = CameraModel(k=K, d=np.zeros(5), distortion_model="plumb_bob", width=WIDTH,
                     height=HEIGHT)
CONFIG = DepthConfig()


def estimate(estimator: PoseEstimator, image: np.ndarray) -> list[Pose]:
    """Return the poses; the one place that knows the estimator's result type."""
    result = estimator.estimate(image)
    return list(result.poses)


@pytest.fixture(scope="module")
def person() -> Pose:
    image = read_image(paths.require(paths.data_dir() / "basketball2.png", "basketball2"))
    assert (image.shape[1], image.shape[0]) == (WIDTH, HEIGHT)
    poses = estimate(PoseEstimator(decoder="multi", input_resolution=513), image)
    best = max(poses, key=lambda pose: pose.score)
    assert (best.keypoint_scores >= CONFIG.min_keypoint_score).sum() >= 12
    return best


def box_of(pose: Pose, margin: float) -> tuple[float, float, float, float]:
    seen = pose.positions[pose.keypoint_scores >= CONFIG.min_keypoint_score]
    return (*(seen.min(axis=0) - margin), *(seen.max(axis=0) + margin))


def render(size: tuple[int, int], to_colour, box, distance: float, rng=None,
           noise: float = 0.0, holes: float = 0.0) -> np.ndarray:
    """Depth (metres) of the scene at each depth pixel; ``to_colour`` maps depth px to colour px.

    Wall: the plane 0.3 x + z = distance + 3 (tilted about y); box: z = distance.
    """
    cols, rows = np.meshgrid(np.arange(size[0], dtype=np.float64),
                             np.arange(size[1], dtype=np.float64))
    u, v = to_colour(cols, rows)
    xn = (u - K[0, 2]) / K[0, 0]
    depth = (distance + 3.0) / (0.3 * xn + 1.0)
    on_box = (u >= box[0]) & (u <= box[2]) & (v >= box[1]) & (v <= box[3])
    depth[on_box] = distance
    if rng is not None:
        depth *= 1.0 + rng.uniform(-noise, noise, depth.shape)
        depth[rng.random(depth.shape) < holes] = 0.0
    return depth.astype(np.float32)


def expected_points(pose: Pose, distance: float) -> np.ndarray:
    xn = (pose.positions[:, 0] - K[0, 2]) / K[0, 0]
    yn = (pose.positions[:, 1] - K[1, 2]) / K[1, 1]
    return np.column_stack([xn * distance, yn * distance, np.full(len(xn), distance)])


def through_message(depth: np.ndarray, encoding: str) -> np.ndarray:
    return decode_depth(*encode_depth(depth, encoding)[:3], encoding, False,
                        encode_depth(depth, encoding)[3])


def check_person(result, pose: Pose, distance: float, expect_valid: np.ndarray) -> None:
    truth = expected_points(pose, distance)
    error = np.linalg.norm(result.points - truth, axis=1)[result.valid]
    assert result.valid[expect_valid].all(), np.flatnonzero(expect_valid & ~result.valid)
    assert np.all(error <= 0.02 * distance), error.max() / distance
    torso = [k for k in TORSO if result.valid[k]]
    assert result.valid_position
    np.testing.assert_allclose(result.position, truth[torso].mean(axis=0),
                               atol=0.02 * distance)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
@pytest.mark.parametrize("distance", [1.0, 2.0, 3.0, 4.0])
def test_within_two_percent_with_holes_and_noise(person, encoding, distance):
    rng = np.random.default_rng(int(distance * 10))
    box = box_of(person, margin=0.0)    # tight: windows at the edges see the wall too
    depth = render((WIDTH, HEIGHT), lambda c, r: (c, r), box, distance, rng, noise=0.05,
                   holes=0.15)
    wrist = np.rint(person.positions[9]).astype(int)   # a hole over the whole left wrist
    depth[wrist[1] - 6:wrist[1] + 7, wrist[0] - 6:wrist[0] + 7] = 0.0
    [result] = lift_poses([person], through_message(depth, encoding), (WIDTH, HEIGHT), CAMERA)
    eligible = person.keypoint_scores >= CONFIG.min_keypoint_score
    assert not result.valid[9]
    expect = eligible.copy()
    expect[9] = False
    check_person(result, person, distance, expect)
    assert not result.valid[~eligible].any()
    np.testing.assert_array_equal(result.points[~result.valid], 0.0)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_depth_at_half_resolution_is_scaled(person, encoding):
    """Depth registered to colour at 320x240: pixels map by the size ratio."""
    box = box_of(person, margin=4.0)
    depth = render((320, 240), lambda c, r: (2 * c, 2 * r), box, 2.5,
                   np.random.default_rng(1), noise=0.05, holes=0.05)
    [result] = lift_poses([person], through_message(depth, encoding), (WIDTH, HEIGHT), CAMERA)
    check_person(result, person, 2.5, person.keypoint_scores >= CONFIG.min_keypoint_score)


def test_depth_camera_info_maps_pixels(person):
    """A depth image with its own intrinsics (cropped and scaled): mapped through its K."""
    kd = np.array([[300.0, 0.0, 180.0], [0.0, 300.0, 110.0], [0.0, 0.0, 1.0]])
    depth_camera = CameraModel(k=kd, d=np.zeros(0), distortion_model="plumb_bob", width=320,
                               height=240)

    def to_colour(cols, rows):
        return ((cols - kd[0, 2]) / kd[0, 0] * K[0, 0] + K[0, 2],
                (rows - kd[1, 2]) / kd[1, 1] * K[1, 1] + K[1, 2])

    depth = render((320, 240), to_colour, box_of(person, margin=4.0), 3.0)
    [result] = lift_poses([person], depth, (WIDTH, HEIGHT), CAMERA, depth_camera=depth_camera)
    check_person(result, person, 3.0, person.keypoint_scores >= CONFIG.min_keypoint_score)
    pixels = depth_pixels(person.positions, (WIDTH, HEIGHT), (320, 240), CAMERA, depth_camera)
    inverse = (person.positions - K[:2, 2]) / K[[0, 1], [0, 1]] * kd[[0, 1], [0, 1]] + kd[:2, 2]
    np.testing.assert_allclose(pixels, inverse, atol=1e-9)


def test_distorted_image_is_undistorted():
    """Known 3D points projected through K and D (OpenCV); lifted back to the same points."""
    d = np.array([-0.28, 0.07, 0.001, -0.0005, 0.0])
    camera = CameraModel(k=K, d=d, distortion_model="plumb_bob", width=WIDTH, height=HEIGHT)
    rng = np.random.default_rng(5)
    truth = np.column_stack([rng.uniform(-0.9, 0.9, 17), rng.uniform(-0.7, 0.7, 17),
                             np.full(17, 2.2)])
    uv, _ = cv2.projectPoints(truth, np.zeros(3), np.zeros(3), K, d)
    pose = Pose(0.9, uv.reshape(-1, 2), np.full(17, 0.9))
    depth = np.full((HEIGHT, WIDTH), 2.2, dtype=np.float32)
    [result] = lift_poses([pose], depth, (WIDTH, HEIGHT), camera)
    assert result.valid.all()
    np.testing.assert_allclose(result.points, truth, atol=0.002)
    [undistorted] = lift_poses([pose], depth, (WIDTH, HEIGHT), CAMERA)   # ignoring D: off
    assert np.abs(undistorted.points - truth).max() > 0.02


@pytest.mark.parametrize("fill", [0.0, np.nan, np.inf, 50.0, 0.05])
def test_no_usable_depth_gives_no_3d(person, fill):
    depth = np.full((HEIGHT, WIDTH), fill, dtype=np.float32)
    [result] = lift_poses([person], depth, (WIDTH, HEIGHT), CAMERA)
    assert not result.valid.any() and not result.valid_position
    np.testing.assert_array_equal(result.points, 0.0)


def test_all_zero_16uc1_message_and_empty_inputs(person):
    depth = decode_depth(WIDTH, HEIGHT, WIDTH * 2, "16UC1", False, bytes(WIDTH * HEIGHT * 2))
    assert np.isnan(depth).all()
    assert not lift_poses([person], depth, (WIDTH, HEIGHT), CAMERA)[0].valid.any()
    assert lift_poses([], depth, (WIDTH, HEIGHT), CAMERA) == []
    with pytest.raises(DepthError):
        decode_depth(WIDTH, HEIGHT, WIDTH * 2, "16UC1", False, bytes(WIDTH * 2))


def test_keypoints_outside_the_depth_image(person):
    moved = Pose(person.score, person.positions + np.array([5000.0, -3000.0]),
                 person.keypoint_scores)
    depth = np.full((HEIGHT, WIDTH), 2.0, dtype=np.float32)
    assert not lift_poses([moved], depth, (WIDTH, HEIGHT), CAMERA)[0].valid.any()


def test_two_people_get_their_own_depth(person):
    other = Pose(0.8, person.positions + np.array([330.0, 0.0]), person.keypoint_scores)
    depth = render((WIDTH, HEIGHT), lambda c, r: (c, r), box_of(person, 4.0), 1.5)
    near = render((WIDTH, HEIGHT), lambda c, r: (c, r), box_of(other, 4.0), 3.5)
    depth = np.where(near == 3.5, near, depth)
    first, second = lift_poses([person, other], depth, (WIDTH, HEIGHT), CAMERA)
    assert first.position[2] == pytest.approx(1.5, rel=0.02)
    assert second.position[2] == pytest.approx(3.5, rel=0.02)


@pytest.mark.parametrize("change", [{"window": -1}, {"min_range": 0.0},
                                    {"max_range": 0.1}, {"outlier_band": 0.0},
                                    {"min_samples": 500}, {"tolerance_s": 2.0}])
def test_depth_config_is_checked(change):
    with pytest.raises(ConfigError):
        DepthConfig(**change)


def test_with_3d_fills_the_pose_fields(person):
    depth = np.full((HEIGHT, WIDTH), 2.0, dtype=np.float32)
    depth[:, :100] = np.nan                       # the person's right side has no depth
    [result] = lift_poses([person], depth, (WIDTH, HEIGHT), CAMERA)
    lifted = with_3d(person, result)
    assert np.isnan(lifted.keypoints_3d[~result.valid]).all()
    np.testing.assert_array_equal(lifted.keypoints_3d[result.valid], result.points[result.valid])
    np.testing.assert_array_equal(lifted.position_3d, result.position)
    assert lifted.positions is person.positions and lifted.score == person.score
