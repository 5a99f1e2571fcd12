"""CameraInfo validation (ROS-free): valid models cast correct rays, bad ones say why."""
from __future__ import annotations

import attack_fixtures as attacks
import cv2
import numpy as np
from posenet_ros.bag.typestore import typestore
from posenet_ros.camera.intrinsics import CameraInfoError, CameraModel
from posenet_ros.outputs.marker_geometry import keypoints_3d
import pytest

K = np.array(attacks.K_GOOD)
RNG = np.random.default_rng(11)
POINTS = RNG.uniform([-0.8, -0.6, 2], [0.8, 0.6, 4], (12, 3))   # in front of the camera


def fields(**change):
    values = {"k": K.ravel().tolist(), "d": [], "distortion_model": "plumb_bob",
              "width": 640, "height": 480, "r": np.eye(3).ravel().tolist(),
              "p": np.hstack([K, np.zeros((3, 1))]).ravel().tolist()}
    values.update(change)
    return values


@pytest.mark.parametrize("model,d", [
    ("plumb_bob", [-0.3, 0.1, 0.001, -0.002, 0.01]),
    ("rational_polynomial", [-0.3, 0.1, 0.001, -0.002, 0.01, 0.02, -0.01, 0.003]),
    ("equidistant", [0.05, -0.01, 0.002, -0.0005]),
    ("plumb_bob", []),
])
def test_valid_models_cast_rays_through_the_projected_pixels(model, d):
    """Project with OpenCV's own projection, then the rays must hit the points' directions."""
    camera = CameraModel.from_fields(**fields(d=d, distortion_model=model))
    if model == "equidistant":
        uv, _ = cv2.fisheye.projectPoints(POINTS.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K,
                                          np.array(d))
    else:
        uv, _ = cv2.projectPoints(POINTS, np.zeros(3), np.zeros(3), K, np.array(d or [0] * 5))
    rays = keypoints_3d(uv.reshape(-1, 2), 640, 480, 1.0, camera)
    np.testing.assert_allclose(rays[:, :2], POINTS[:, :2] / POINTS[:, 2:], atol=1e-4)


@pytest.mark.parametrize("change,reason", [
    ({"d": list(attacks.D_THREE_PLUMB_BOB)}, "D has 3 coefficients; plumb_bob needs 5"),
    ({"d": [0.1] * 5, "distortion_model": "rational_polynomial"},
     "D has 5 coefficients; rational_polynomial needs 8"),
    ({"d": [0.1] * 4, "distortion_model": "kannala_brandt"},
     "distortion model 'kannala_brandt' is not one of plumb_bob"),
    ({"k": np.array(attacks.K_NAN).ravel().tolist()}, r"K has non-finite values at \[0\]"),
    ({"k": (K * [[1, 1, np.inf], [1, 1, 1], [1, 1, 1]]).ravel().tolist()},
     r"K has non-finite values at \[2\]"),
    ({"k": (K * [[-1, 1, 1], [1, 1, 1], [1, 1, 1]]).ravel().tolist()}, "fx=-500"),
    ({"k": K.ravel().tolist()[:6]}, "K has 6 values, expected 9"),
    ({"k": (K + [[0, 0, 0], [0, 0, 0], [0, 0, 1]]).ravel().tolist()}, "last row"),
    ({"d": [0.1, float("nan"), 0, 0, 0]}, "D has non-finite values at"),
    ({"p": [float("nan")] * 12}, "P has non-finite values"),
    ({"r": [1.0] * 4}, "R has 4 values, expected 9"),
    ({"width": -640}, "width -640 is outside"),
    ({"width": 640, "height": 0}, "one side is zero"),
])
def test_bad_camera_info_is_refused_with_the_reason(change, reason):
    with pytest.raises(CameraInfoError, match=reason):
        CameraModel.from_fields(**fields(**change))


def test_uncalibrated_camera_is_none_and_zero_d_means_no_distortion():
    assert CameraModel.from_fields(**fields(k=[0.0] * 9)) is None
    camera = CameraModel.from_fields(**fields(d=[0.0] * 5))
    assert camera.d.size == 0
    np.testing.assert_allclose(camera.normalized(np.array([[320.0, 240.0]]), 640, 480), [[0, 0]])


def test_rosbags_camera_info_is_read_by_its_fields():
    types = typestore().types
    info = types["sensor_msgs/msg/CameraInfo"](
        header=types["std_msgs/msg/Header"](
            stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="cam"),
        height=480, width=640, distortion_model="plumb_bob",
        d=np.array(attacks.D_THREE_PLUMB_BOB), k=K.ravel(), r=np.eye(3).ravel(),
        p=np.hstack([K, np.zeros((3, 1))]).ravel(), binning_x=0, binning_y=0,
        roi=types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0,
                                                      width=0, do_rectify=False))
    with pytest.raises(CameraInfoError, match="D has 3 coefficients"):
        CameraModel.from_camera_info(info)
    info.d = np.zeros(5)
    assert CameraModel.from_camera_info(info).width == 640


ABSURD_D = {"rational_polynomial": [1e30] * 8, "plumb_bob": [-1e10] * 5,
            "equidistant": [1e30] * 4}


@pytest.mark.parametrize("model", sorted(ABSURD_D))
def test_finite_but_absurd_distortion_is_refused_in_one_line(model):
    """Refuse D that OpenCV turns into NaN rays, or rays that miss their pixels.

    rational_polynomial gave NaN in every MarkerArray; for the others OpenCV gives up and
    returns rays that do not project back to their pixels.
    """
    d = ABSURD_D[model]
    bare = CameraModel(K, np.array(d), model, 640, 480)         # what used to be accepted
    corners = np.array([[0.0, 0.0], [639.0, 479.0]])
    with np.errstate(all="ignore"):
        rays = bare.normalized(corners, 640, 480)
        back = bare._project(np.nan_to_num(rays))
    assert not np.isfinite(rays).all() or (np.abs(back - corners) > 50).any()
    with pytest.raises(CameraInfoError, match="impossible rays.*not a real lens") as caught:
        CameraModel.from_fields(**fields(d=d, distortion_model=model))
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


def test_markers_never_hold_non_finite_points(estimator_factory, still_with_people):
    """Real poses through a camera whose rays are NaN: keypoints left out, never NaN."""
    from posenet_ros.outputs.marker_geometry import MarkerSettings, pose_markers
    poses = estimator_factory().estimate(still_with_people).poses
    assert poses
    height, width = still_with_people.shape[:2]
    camera = CameraModel(K, np.array(ABSURD_D["rational_polynomial"]), "rational_polynomial",
                         width, height)
    nan_pose = poses[0].__class__(poses[0].score, np.full_like(poses[0].positions, np.nan),
                                  poses[0].keypoint_scores)
    for cam, these in ((camera, poses), (None, [nan_pose, *poses])):
        specs = pose_markers(these, width, height, MarkerSettings(min_keypoint_score=0.0), cam)
        assert all(np.isfinite(spec.points).all() for spec in specs)
    assert specs and len(specs) >= len(poses)     # the finite people are still drawn


def test_a_million_nan_coefficients_give_a_short_reason():
    """The reason was 12.9 MB (every value listed) and logged per message."""
    with pytest.raises(CameraInfoError) as caught:
        CameraModel.from_fields(**fields(d=[float("nan")] * 10**6))
    text = str(caught.value)
    assert len(text) < 400, len(text)
    assert "D has non-finite values at [0, 1, 2, 3, 4, 5, 6, 7] and 999992 more" in text
    assert "(1000000 values)" in text
    with pytest.raises(CameraInfoError) as caught:
        CameraModel.from_fields(**fields(d=[0.1] * 4, distortion_model="x" * 10**6))
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize("model,k,size,d", [
    ("plumb_bob", (300, 300, 320, 240), (640, 480), [-0.3, 0.08, 0.0, 0.0, -0.01]),   # 120 deg
    ("rational_polynomial", (380, 380, 424, 240), (848, 480),
     [2.1, 0.9, 0.0, 0.0, 0.03, 2.4, 1.6, 0.18]),
    ("equidistant", (285, 286, 424, 400), (848, 800),             # T265-like fisheye
     [-0.0069, 0.044, -0.041, 0.0077]),
])
def test_real_wide_lenses_pass_the_ray_check(model, k, size, d):
    fx, fy, cx, cy = k
    kk = [fx, 0, cx, 0, fy, cy, 0, 0, 1]
    camera = CameraModel.from_fields(**fields(k=kk, d=d, distortion_model=model, width=size[0],
                                              height=size[1],
                                              p=[fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0]))
    assert camera is not None and camera.d.size
