"""``posenet-ros bag --depth-topic``: real colour frames with synthetic depth of known geometry.

The colour frames are vtest.avi's; the depth is a wall at a known distance (every pixel), so
every keypoint placed in 3D must lie on it, at the ray through its pixel for the K written in
the bag's CameraInfo (computed here, not by the package). Depth is logged after its colour
frame (as two driver threads often do), some frames have none, one has an encoding no depth
camera uses.
"""
from __future__ import annotations

import csv
import json

from bag_fixtures import (
    CAMERA_INFO_TOPIC, DEPTH_TOPIC, IMAGE_TOPIC, read_topic, require_model, run_cli,
    video_frames, write_camera_bag)
import numpy as np
from posenet_ros.bag.depth_stream import LOOKAHEAD_NS
from posenet_ros.bag.from_video import EPOCH_NS
from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.stages.depth.lift import DepthConfig
import pytest

N = 16
PERIOD_NS = 100_000_000
WALL_M = 2.5
K = np.array([[610.0, 0.0, 371.0], [0.0, 605.0, 297.0], [0.0, 0.0, 1.0]])
NO_DEPTH = {3, 9}
BAD_ENCODING = 6
LAG_NS = 40_000_000        # depth logged 40 ms after its colour frame


@pytest.fixture(scope="module")
def frames():
    require_model()
    return video_frames(N)


def rgbd_bag(path, frames, encoding, size=(768, 576), lag_ns=LAG_NS, k=K):
    wall = np.full(size[::-1], WALL_M, np.float64)
    depth = [None if i in NO_DEPTH else
             ("mono16" if i == BAD_ENCODING else encoding, wall) for i in range(N)]
    write_camera_bag(path, frames, [EPOCH_NS + i * PERIOD_NS for i in range(N)], k=k,
                     depth=depth, depth_lag_ns=lag_ns)
    return path


def check_on_the_wall(msg, k=K):
    """Every valid keypoint: z = the wall, x/z and y/z = its pixel's ray under ``k``."""
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    valid = 0
    min_score = DepthConfig().min_keypoint_score
    for pose in msg.poses:
        for kp in pose.keypoints:
            inside = 0 <= kp.x <= msg.image_width - 1 and 0 <= kp.y <= msg.image_height - 1
            if kp.score >= min_score and inside:
                assert kp.valid_3d, (kp.part_name, kp.score)   # the wall covers the image
            if not kp.valid_3d:
                continue
            valid += 1
            p = kp.position
            assert p.z == pytest.approx(WALL_M, abs=1e-4)
            assert p.x == pytest.approx((kp.x - cx) / fx * WALL_M, abs=1e-4)
            assert p.y == pytest.approx((kp.y - cy) / fy * WALL_M, abs=1e-4)
        if pose.valid_3d:
            assert pose.position.z == pytest.approx(WALL_M, abs=1e-4)
    return valid


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
def test_depth_places_keypoints_on_the_wall_and_counts_the_rest(tmp_path, frames, encoding):
    bag = rgbd_bag(tmp_path / "bag", frames, encoding)
    done = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "--depth-topic", DEPTH_TOPIC, "-o",
                   tmp_path / "out", "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    paired = N - len(NO_DEPTH) - 1
    assert f"{paired} frames in 3D" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["depth"]
    assert (summary["paired"], summary["unmatched"], summary["refused"],
            summary["no_camera_info"]) == (paired, len(NO_DEPTH), 1, 0)
    assert summary["tolerance_s"] == DepthConfig().tolerance_s
    (refusal,) = summary["examples"]
    assert refusal["frame"] == BAD_ENCODING and "'mono16' is not supported" in refusal["reason"]

    outputs = read_topic(tmp_path / "out" / "poses", IMAGE_TOPIC + "/poses")
    assert len(outputs) == N
    valid = 0
    for i, (_, msg) in enumerate(outputs):
        in_3d = i not in NO_DEPTH and i != BAD_ENCODING
        assert msg.depth == in_3d
        if in_3d:
            valid += check_on_the_wall(msg)
        else:       # 2D as without depth
            assert not any(k.valid_3d for p in msg.poses for k in p.keypoints)
            assert not any(p.valid_3d for p in msg.poses)
    assert valid > 100

    with open(tmp_path / "out" / "keypoints.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == NUM_KEYPOINTS * sum(len(m.poses) for _, m in outputs)
    for row in rows:
        kp = outputs[int(row["frame"])][1].poses[int(row["pose"])].keypoints[int(row["part_id"])]
        assert int(row["valid_3d"]) == kp.valid_3d
        if kp.valid_3d:
            got = [float(row[c]) for c in ("x_3d", "y_3d", "z_3d")]
            np.testing.assert_allclose(got, [kp.position.x, kp.position.y, kp.position.z],
                                       atol=1e-4)
        else:
            assert row["x_3d"] == row["y_3d"] == row["z_3d"] == ""


def test_half_size_depth_and_its_own_camera_info_give_the_same_wall(tmp_path, frames):
    """Depth at half resolution: pixels scale with the size ratio (no depth CameraInfo)."""
    bag = rgbd_bag(tmp_path / "bag", frames, "16UC1", size=(384, 288))
    done = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "--depth-topic", DEPTH_TOPIC,
                   "--camera-info-topic", CAMERA_INFO_TOPIC, "-o", tmp_path / "out",
                   "--providers", "cpu", "--no-tracking")
    assert done.returncode == 0, done.stderr
    outputs = read_topic(tmp_path / "out" / "poses", IMAGE_TOPIC + "/poses")
    assert sum(check_on_the_wall(m) for _, m in outputs if m.depth) > 100


def test_depth_logged_beyond_the_window_is_unmatched(tmp_path, frames):
    """Look-ahead is bounded in receive time: depth logged later than that goes unpaired."""
    bag = rgbd_bag(tmp_path / "bag", frames[:N], "32FC1", lag_ns=LOOKAHEAD_NS + PERIOD_NS // 2)
    done = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "--depth-topic", DEPTH_TOPIC, "-o",
                   tmp_path / "out", "--providers", "cpu", "--no-tracking")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["depth"]
    assert summary["paired"] == summary["refused"] == 0 and summary["unmatched"] == N
    outputs = read_topic(tmp_path / "out" / "poses", IMAGE_TOPIC + "/poses")
    assert len(outputs) == N and not any(m.depth for _, m in outputs)


def test_depth_without_colour_camera_info_is_refused_clearly(tmp_path, frames):
    bag = tmp_path / "bag"
    write_camera_bag(bag, frames[:2], [EPOCH_NS, EPOCH_NS + PERIOD_NS],
                     depth=[("16UC1", np.full((576, 768), 2.0))] * 2)
    done = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "--depth-topic", DEPTH_TOPIC, "-o",
                   tmp_path / "out")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "needs the colour camera's CameraInfo" in done.stderr
    assert "--camera-info-topic" in done.stderr and not (tmp_path / "out").exists()
    wrong = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "--depth-topic", "/nope", "-o",
                    tmp_path / "out")
    assert wrong.returncode == 2 and "--depth-topic /nope is not in bag" in wrong.stderr
    assert DEPTH_TOPIC in wrong.stderr
    alone = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "--camera-info-topic", "/x", "-o",
                    tmp_path / "out")
    assert alone.returncode == 2 and "only used with --depth-topic" in alone.stderr
