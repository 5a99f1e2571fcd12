"""Marker geometry, PoseArray building and the parameter table, without DDS."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
from posenet_ros.core import config
from posenet_ros.core.config import ConfigError, EstimatorConfig
from posenet_ros.core.keypoints import NUM_KEYPOINTS, PART_NAMES, SKELETON
from posenet_ros.core.pose import Pose
import pytest
import yaml

try:
    from posenet_ros.camera.intrinsics import CameraModel
    from posenet_ros.core.result import FrameResult, StageTimes
    from posenet_ros.outputs.marker_geometry import keypoints_3d, MarkerSettings
    from posenet_ros.outputs.markers import build_marker_array
    from posenet_ros.outputs.pose_array import build_pose_array, poses_from_pose_array
    from posenet_ros.ros import parameters
    from posenet_ros.ros.worker import MARKER_CLASSES, POSE_CLASSES
    from posenet_ros.stages.pipeline import PipelineFrame
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header
    from visualization_msgs.msg import Marker
except ImportError as exc:
    pytest.skip(f"ROS 2 or the built posenet_ros messages are missing ({exc}): run `make build`",
                allow_module_level=True)

RNG = np.random.default_rng(3)
HEADER = Header(frame_id="cam_optical")


def random_pose(low_scores: tuple[int, ...] = ()) -> Pose:
    scores = RNG.uniform(0.6, 1.0, NUM_KEYPOINTS)
    scores[list(low_scores)] = 0.1
    return Pose(float(scores.mean()), RNG.uniform(0, 480, (NUM_KEYPOINTS, 2)), scores)


def camera_info(k, d=(), model="plumb_bob", width=640, height=480) -> CameraInfo:
    info = CameraInfo(width=width, height=height, distortion_model=model)
    info.k = [float(v) for v in np.asarray(k, float).ravel()]
    info.d = [float(v) for v in d]
    return info


K = [[500.0, 0, 320.0], [0, 520.0, 240.0], [0, 0, 1]]


def test_pinhole_rays_project_back_to_the_pixels():
    uv = RNG.uniform(0, 480, (NUM_KEYPOINTS, 2))
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
             random_pose(low_scores=tuple(range(NUM_KEYPOINTS)))]
    array = build_marker_array(MARKER_CLASSES, poses, HEADER, 640, 480,
                               MarkerSettings(depth=2.0, scale=0.05, min_keypoint_score=0.5))
    first, *rest = array.markers
    assert first.action == Marker.DELETEALL
    spheres = [m for m in rest if m.type == Marker.SPHERE_LIST]
    lines = [m for m in rest if m.type == Marker.LINE_LIST]
    # Untracked people: ids -1, -2 (Pose.slot); the third has no visible keypoint.
    assert [m.id for m in spheres] == [-1, -2]
    assert not [m for m in rest if m.type == Marker.TEXT_VIEW_FACING]   # labels: tracked only
    assert [len(m.points) for m in spheres] == [NUM_KEYPOINTS, NUM_KEYPOINTS - 2]
    # leftShoulder (5) and leftElbow (7) hidden: 3 limbs touch them.
    hidden = {5, 7}
    expected_limbs = sum(1 for a, b in SKELETON if a not in hidden and b not in hidden)
    assert [len(m.points) for m in lines] == [2 * len(SKELETON), 2 * expected_limbs]
    assert all(m.header.frame_id == "cam_optical" for m in rest)
    assert spheres[0].scale.x == pytest.approx(0.05) and lines[0].scale.x == pytest.approx(0.025)


def test_tracked_people_keep_their_id_and_colour_and_get_a_label():
    from dataclasses import replace
    first, second = random_pose(), random_pose()
    one = build_marker_array(MARKER_CLASSES, [replace(first, track_id=7),
                                              replace(second, track_id=3)],
                             HEADER, 640, 480, MarkerSettings())
    swapped = build_marker_array(MARKER_CLASSES, [replace(second, track_id=3),
                                                  replace(first, track_id=7)],
                                 HEADER, 640, 480, MarkerSettings())
    colours = []
    for array in (one, swapped):    # the order of people in a frame does not matter
        labels = {m.id: m.text for m in array.markers if m.type == Marker.TEXT_VIEW_FACING}
        assert labels == {7: "id 7", 3: "id 3"}
        colours.append({m.id: (m.color.r, m.color.g, m.color.b) for m in array.markers
                        if m.type == Marker.SPHERE_LIST})
    assert colours[0] == colours[1] and colours[0][7] != colours[0][3]


def test_pose_array_carries_track_box_and_3d():
    from dataclasses import replace
    pose = random_pose(low_scores=(0, 1))
    xyz = RNG.uniform(0.5, 3.0, (NUM_KEYPOINTS, 3))
    xyz[4] = np.nan                                      # no depth under the right ear
    tracked = replace(pose, track_id=5, track_age=2.5, keypoints_3d=xyz,
                      position_3d=np.array([0.1, 0.2, 2.0]))
    result = FrameResult((pose,), (640, 480), (257, 257), EstimatorConfig(), "m.onnx", 16,
                         StageTimes())
    frame = PipelineFrame(result, (tracked,), tracked=True, depth="paired")
    msg = build_pose_array(POSE_CLASSES, frame, HEADER, box_min_score=0.5)
    assert (msg.tracking, msg.smoothing, msg.depth) == (True, False, True)
    out = msg.poses[0]
    assert (out.track_id, out.track_age) == (5, pytest.approx(2.5))
    confident = pose.positions[pose.keypoint_scores >= 0.5]
    assert (out.box_x_min, out.box_y_min) == pytest.approx(tuple(confident.min(axis=0)))
    assert (out.box_x_max, out.box_y_max) == pytest.approx(tuple(confident.max(axis=0)))
    assert [k.valid_3d for k in out.keypoints] == [k != 4 for k in range(NUM_KEYPOINTS)]
    assert out.valid_3d and out.position.z == pytest.approx(2.0)
    back = poses_from_pose_array(msg)[0]
    assert back.track_id == 5
    np.testing.assert_allclose(back.keypoints_3d, xyz, rtol=1e-6)   # NaN row kept as NaN
    untracked = build_pose_array(POSE_CLASSES, PipelineFrame(result, result.poses), HEADER,
                                 box_min_score=0.5)
    assert untracked.poses[0].track_id == 0 and not untracked.poses[0].valid_3d


def test_pose_array_round_trip_fills_every_field():
    poses = [random_pose(), random_pose()]
    config = EstimatorConfig(decoder="multi", max_detections=7, score_threshold=0.3,
                             nms_radius=15.0, flip_horizontal=True, output_stride=8)
    result = FrameResult(tuple(poses), (640, 480), (257, 193), config, "m.onnx", 8,
                         StageTimes())
    msg = build_pose_array(POSE_CLASSES, PipelineFrame(result, result.poses), HEADER,
                           box_min_score=0.5)
    assert (msg.image_width, msg.image_height) == (640, 480)
    assert (msg.input_width, msg.input_height) == (257, 193)
    assert (msg.model, msg.decoder, msg.output_stride) == ("m.onnx", "multi", 8)
    assert msg.max_detections == 7
    assert msg.flip_horizontal is True
    assert msg.score_threshold == pytest.approx(0.3) and msg.nms_radius == pytest.approx(15.0)
    assert [k.part_name for k in msg.poses[0].keypoints] == list(PART_NAMES)
    assert [k.part_id for k in msg.poses[0].keypoints] == list(range(NUM_KEYPOINTS))
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
    assert parameters.estimator_config(values) == EstimatorConfig()


def _engine_accepts(name, value) -> bool:
    values = {spec.name: spec.default for spec in parameters.SPECS}
    try:
        parameters.estimator_config({**values, name: value})
    except ConfigError:
        return False
    return True


def _advertised(descriptor) -> list:
    """Values a ROS client is told it may set: every integer step, or a float grid."""
    if descriptor.integer_range:
        r = descriptor.integer_range[0]
        return list(range(r.from_value, r.to_value + 1, r.step or 1))
    if descriptor.floating_point_range:
        r = descriptor.floating_point_range[0]
        return list(np.linspace(r.from_value, r.to_value, 201))
    return []


def test_the_engine_accepts_every_value_a_parameter_advertises():
    """A range or choice list promises values; the engine (the one validator) must take them."""
    refused = {}
    for spec in parameters.SPECS:
        if not spec.engine:
            continue
        descriptor = spec.descriptor()
        advertised = _advertised(descriptor) + list(spec.choices)
        bad = [v for v in advertised if not _engine_accepts(spec.name, v)]
        if bad:
            refused[spec.name] = (min(bad), max(bad))
        if spec.choices:
            assert not descriptor.integer_range and not descriptor.floating_point_range
            for choice in spec.choices:
                assert str(choice) in descriptor.additional_constraints, spec.name
    # image_scale_factor: 0 is "off", so no single range can exclude (0, 0.2); its description
    # says so and the engine refuses those values with the reason.
    assert set(refused) == {"image_scale_factor"}, refused
    low, high = refused["image_scale_factor"]
    assert 0.0 < low and high < config.SCALE_FACTOR_RANGE[0]
    description = parameters.BY_NAME["image_scale_factor"].description
    assert f"{config.SCALE_FACTOR_RANGE[0]}" in description


def test_choices_are_the_engine_choices_and_others_are_refused_with_the_reason():
    assert parameters.BY_NAME["decoder"].choices == config.DECODERS
    assert parameters.BY_NAME["output_stride"].choices == config.VALID_STRIDES
    gaps = sorted(set(range(min(config.VALID_STRIDES), max(config.VALID_STRIDES) + 1))
                  - set(config.VALID_STRIDES))
    for stride in gaps:
        assert not _engine_accepts("output_stride", stride)
        with pytest.raises(ConfigError, match=f"output_stride {stride} is invalid"):
            parameters.check_choice("output_stride", stride)
    parameters.check_choice("output_stride", config.VALID_STRIDES[0])


def test_every_parameter_is_described_and_ranged_like_the_engine():
    for spec in parameters.SPECS:
        descriptor = spec.descriptor()
        assert descriptor.description, spec.name
    # Where the engine bounds a setting, the parameter's range is exactly the engine's.
    for name, bounds in (("input_resolution", config.RESOLUTION_RANGE),
                         ("max_detections", config.MAX_DETECTIONS_RANGE),
                         ("nms_radius", config.NMS_RADIUS_RANGE)):
        descriptor = parameters.BY_NAME[name].descriptor()
        (r,) = descriptor.floating_point_range or descriptor.integer_range
        assert (r.from_value, r.to_value) == bounds, name
        low, high = bounds
        step = 1 if isinstance(low, int) else 1e-6
        assert _engine_accepts(name, low) and _engine_accepts(name, high)
        assert not _engine_accepts(name, low - step) and not _engine_accepts(name, high + step)
    changes = {"model": "", "image_scale_factor": 0.0, "providers": ["cpu"]}
    assert parameters.engine_changes(changes) == {
        "model": None, "image_scale_factor": None, "providers": ("cpu",)}
    # Engine parameters are exactly EstimatorConfig's fields (minus pass-through provider options).
    engine = {s.field or s.name for s in parameters.SPECS if s.engine}
    assert engine == {f.name for f in fields(EstimatorConfig)} - {"extra"}


def test_people_array_holds_the_people_with_a_3d_position():
    from dataclasses import replace
    from posenet_ros.outputs.people import build_people_array
    from posenet_ros.ros.worker import PEOPLE_CLASSES
    placed = replace(random_pose(), position_3d=np.array([0.5, -0.2, 2.5]))
    unplaced = random_pose()
    msg = build_people_array(PEOPLE_CLASSES, HEADER, [unplaced, placed])
    assert msg.header == HEADER and len(msg.poses) == 1
    where = msg.poses[0].position
    assert (where.x, where.y, where.z) == pytest.approx((0.5, -0.2, 2.5))
