"""Marker geometry, PoseArray building and the parameter table, without DDS."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
from posenet_ros.config import EstimatorConfig
from posenet_ros.keypoints import PART_NAMES, SKELETON
from posenet_ros.pose import Pose
import pytest
import yaml

try:
    from posenet_ros.ros import parameters
    from posenet_ros.marker_geometry import CameraModel, keypoints_3d, MarkerSettings
    from posenet_ros.messages.markers import build_marker_array
    from posenet_ros.messages.pose_array import build_pose_array, poses_from_pose_array
    from posenet_ros.result import FrameResult, StageTimes
    from posenet_ros.ros.node import MARKER_CLASSES, POSE_CLASSES
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header
    from visualization_msgs.msg import Marker
except ImportError as exc:
    pytest.skip(f"ROS 2 or the built posenet_ros messages are missing ({exc}): run `make build`",
                allow_module_level=True)

RNG = np.random.default_rng(3)
HEADER = Header(frame_id="cam_optical")


def random_pose(low_scores: tuple[int, ...] = ()) -> Pose:
    scores = RNG.uniform(0.6, 1.0, 17)
    scores[list(low_scores)] = 0.1
    return Pose(float(scores.mean()), RNG.uniform(0, 480, (17, 2)), scores)


def camera_info(k, d=(), model="plumb_bob", width=640, height=480) -> CameraInfo:
    info = CameraInfo(width=width, height=height, distortion_model=model)
    info.k = [float(v) for v in np.asarray(k, float).ravel()]
    info.d = [float(v) for v in d]
    return info


K = [[500.0, 0, 320.0], [0, 520.0, 240.0], [0, 0, 1]]


def test_pinhole_rays_project_back_to_the_pixels():
    uv = RNG.uniform(0, 480, (17, 2))
    camera = CameraModel.from_camera_info(camera_info(K))
    points = keypoints_3d(uv, 640, 480, 3.0, camera)
    assert np.allclose(points[:, 2], 3.0)
    projected = (np.array(K) @ points.T).T
    np.testing.assert_allclose(projected[:, :2] / projected[:, 2:], uv, atol=1e-9)


def test_distorted_camera_undistorts_before_casting_rays():
    d = [-0.3, 0.1, 0.001, -0.002, 0.0]
    camera = CameraModel.from_camera_info(camera_info(K, d))
    points = RNG.uniform([-1, -0.7, 2], [1, 0.7, 4], (10, 3))
    distorted, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), np.array(K), np.array(d))
    rays = keypoints_3d(distorted.reshape(-1, 2), 640, 480, 1.0, camera)
    np.testing.assert_allclose(rays[:, :2], points[:, :2] / points[:, 2:], atol=1e-4)


def test_camera_info_for_another_resolution_is_scaled():
    camera = CameraModel.from_camera_info(camera_info(K, width=1280, height=960))
    # The image is half the calibrated size: the principal point is at (160, 120).
    centre = keypoints_3d(np.array([[160.0, 120.0]]), 640, 480, 2.0, camera)
    np.testing.assert_allclose(centre[0], [0, 0, 2.0], atol=1e-12)


def test_uncalibrated_camera_info_is_ignored():
    assert CameraModel.from_camera_info(camera_info(np.zeros((3, 3)))) is None


def test_image_plane_convention_without_camera_info():
    points = keypoints_3d(np.array([[320.0, 240.0], [420.0, 140.0]]), 640, 480, 2.0)
    np.testing.assert_allclose(points, [[0, 0, 2.0], [0.1, -0.1, 2.0]])


def test_marker_array_per_pose_and_threshold():
    poses = [random_pose(), random_pose(low_scores=(5, 7)),
             random_pose(low_scores=tuple(range(17)))]
    array = build_marker_array(MARKER_CLASSES, poses, HEADER, 640, 480,
                               MarkerSettings(depth=2.0, scale=0.05, min_keypoint_score=0.5))
    first, *rest = array.markers
    assert first.action == Marker.DELETEALL
    spheres = [m for m in rest if m.type == Marker.SPHERE_LIST]
    lines = [m for m in rest if m.type == Marker.LINE_LIST]
    assert [m.id for m in spheres] == [0, 1]      # the third person has no visible keypoint
    assert [len(m.points) for m in spheres] == [17, 15]
    # leftShoulder (5) and leftElbow (7) hidden: 3 limbs touch them.
    hidden = {5, 7}
    expected_limbs = sum(1 for a, b in SKELETON if a not in hidden and b not in hidden)
    assert [len(m.points) for m in lines] == [2 * len(SKELETON), 2 * expected_limbs]
    assert all(m.header.frame_id == "cam_optical" for m in rest)
    assert spheres[0].scale.x == pytest.approx(0.05) and lines[0].scale.x == pytest.approx(0.025)


def test_pose_array_round_trip_fills_every_field():
    poses = [random_pose(), random_pose()]
    config = EstimatorConfig(decoder="multi", max_detections=7, score_threshold=0.3,
                             nms_radius=15.0, flip_horizontal=True, output_stride=8)
    result = FrameResult(tuple(poses), (640, 480), (257, 193), config, "m.onnx", 8,
                         StageTimes())
    msg = build_pose_array(POSE_CLASSES, result, HEADER, box_min_score=0.5)
    assert (msg.image_width, msg.image_height) == (640, 480)
    assert (msg.input_width, msg.input_height) == (257, 193)
    assert (msg.model, msg.decoder, msg.output_stride) == ("m.onnx", "multi", 8)
    assert msg.max_detections == 7
    assert msg.flip_horizontal is True
    assert msg.score_threshold == pytest.approx(0.3) and msg.nms_radius == pytest.approx(15.0)
    assert [k.part_name for k in msg.poses[0].keypoints] == list(PART_NAMES)
    assert [k.part_id for k in msg.poses[0].keypoints] == list(range(17))
    back = poses_from_pose_array(msg)
    for got, want in zip(back, poses):
        np.testing.assert_allclose(got.positions, want.positions)
        np.testing.assert_allclose(got.keypoint_scores, want.keypoint_scores)


def test_yaml_defaults_equal_the_parameter_table_and_the_engine():
    yaml_file = Path(__file__).resolve().parents[2] / "config" / "posenet.yaml"
    values = yaml.safe_load(yaml_file.read_text())["/**"]["ros__parameters"]
    assert set(values) == set(parameters.BY_NAME)
    for name, value in values.items():
        default = parameters.BY_NAME[name].default
        assert value == default and type(value) is type(default), name
    assert parameters.estimator_config(values) == EstimatorConfig(**parameters.NODE_DEFAULTS)


def test_every_parameter_is_described_and_ranged_like_the_engine():
    for spec in parameters.SPECS:
        descriptor = spec.descriptor()
        assert descriptor.description, spec.name
        if spec.bounds is not None:
            ranges = descriptor.floating_point_range or descriptor.integer_range
            assert (ranges[0].from_value, ranges[0].to_value) == tuple(spec.bounds[:2])
    changes = {"model": "", "image_scale_factor": 0.0, "providers": ["cpu"]}
    assert parameters.engine_changes(changes) == {
        "model": None, "image_scale_factor": None, "providers": ("cpu",)}
    # Engine parameters are exactly EstimatorConfig's fields (minus pass-through provider options).
    engine = {s.name for s in parameters.SPECS if s.engine}
    assert engine == {f.name for f in fields(EstimatorConfig)} - {"extra"}
