"""``posenet-ros bag`` track ids: equal to a PoseTracker run here over the same poses.

The reference is independent of the bag tool: the engine on the video frames, one
:class:`PoseTracker` fed the header stamps in seconds and the images, as posenet_node's
worker does. The bag plays the sequence twice with stamps restarting (a looping
recording): ids must restart.
"""
from __future__ import annotations

import csv
import json

from bag_fixtures import IMAGE_TOPIC, read_topic, require_model, run_cli, video_frames
from bag_fixtures import write_camera_bag
from posenet_ros.bag.from_video import EPOCH_NS
from posenet_ros.families.base import PoseModel
from posenet_ros.stages.track.config import TrackerConfig
from posenet_ros.stages.track.tracker import PoseTracker
import pytest

N = 30
PERIOD_NS = 100_000_000


@pytest.fixture(scope="module")
def engine():
    require_model()
    from posenet_ros.estimator import PoseEstimator
    return PoseEstimator(providers=("cpu",))


@pytest.fixture(scope="module")
def looping_bag(tmp_path_factory):
    """Return a bag of the first N frames of vtest twice: stamps restart, receive times go on."""
    frames = video_frames(N)
    stamps = [EPOCH_NS + i * PERIOD_NS for i in range(N)] * 2
    logs = [EPOCH_NS + i * PERIOD_NS for i in range(2 * N)]
    path = tmp_path_factory.mktemp("loop") / "bag"
    write_camera_bag(path, frames + frames, stamps, log_times_ns=logs)
    return path, frames + frames, stamps


def reference_ids(engine, frames, stamps, config=TrackerConfig()):
    tracker = PoseTracker(config)
    seconds = [stamp // 10**9 + stamp % 10**9 * 1e-9 for stamp in stamps]   # as the node
    # The image too, as the pipeline gives it: looks weigh contested matches (and re-id).
    return [[t.track_id for t in tracker.update(engine.estimate(rgb).poses, stamp, image=rgb)]
            for rgb, stamp in zip(frames, seconds)]


def csv_ids(path):
    ids = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            ids.setdefault(int(row["frame"]), {})[int(row["pose"])] = int(row["track_id"])
    return ids


def test_ids_equal_an_independent_tracker_and_restart_when_stamps_jump_back(
        looping_bag, engine, tmp_path):
    bag, frames, stamps = looping_bag
    done = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "-o", tmp_path, "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    want = reference_ids(engine, frames, stamps)
    assert sum(1 for ids in want for i in ids if i > 0) > N     # people are tracked
    outputs = read_topic(tmp_path / "poses", IMAGE_TOPIC + "/poses")
    got = [[p.track_id for p in m.poses] for _, m in outputs]
    assert got == want
    assert all(m.tracking and not m.smoothing and not m.depth for _, m in outputs)
    assert got[N:] == got[:N]            # the second pass restarted at 1: the same ids
    by_frame = csv_ids(tmp_path / "keypoints.csv")
    assert [[by_frame.get(i, {})[j] for j in range(len(ids))]
            for i, ids in enumerate(want)] == want

    tracking = json.loads((tmp_path / "summary.json").read_text())["tracking"]
    # The settings in force: a high_pose_score left to the model is recorded as PoseNet's.
    in_force = TrackerConfig().for_model(PoseModel.confident_pose_score)
    assert tracking["passes"] == 2 and tracking["settings"] == vars(in_force)
    assert in_force != TrackerConfig()
    seen = {}          # (pass, id) -> stamps where confirmed, recomputed from the reference
    for i, ids in enumerate(want):
        for track_id in ids:
            if track_id:
                seen.setdefault((i // N, track_id), []).append(stamps[i])
    assert tracking["count"] == len(seen)
    listed = {(t["pass"], t["id"]): t for t in tracking["tracks"]}
    assert set(listed) == set(seen)
    for key, times in seen.items():
        assert listed[key]["frames"] == len(times)
        assert listed[key]["duration_s"] == pytest.approx((max(times) - min(times)) / 1e9)
    people = [sum(1 for i in ids if i) for ids in want]
    assert tracking["people_per_frame_max"] == max(people)
    assert tracking["people_per_frame_mean"] == pytest.approx(sum(people) / len(people))
    assert "tracks:" in done.stdout and "2 passes" in done.stdout


def test_tracker_options_and_no_tracking(looping_bag, engine, tmp_path):
    bag, frames, stamps = looping_bag
    done = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "-o", tmp_path / "a", "--providers",
                   "cpu", "--track-min-hits", "1", "--track-max-age", "0.5")
    assert done.returncode == 0, done.stderr
    config = TrackerConfig(min_hits=1, max_age=0.5)
    want = reference_ids(engine, frames[:N], stamps[:N], config)
    got = [[p.track_id for p in m.poses]
           for _, m in read_topic(tmp_path / "a" / "poses", IMAGE_TOPIC + "/poses")]
    assert got[:N] == want
    off = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "-o", tmp_path / "b", "--providers",
                  "cpu", "--no-tracking")
    assert off.returncode == 0, off.stderr
    outputs = read_topic(tmp_path / "b" / "poses", IMAGE_TOPIC + "/poses")
    assert not any(m.tracking for _, m in outputs)
    assert all(p.track_id == 0 for _, m in outputs for p in m.poses)
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["tracking"] is None
    bad = run_cli("bag", bag, "--topic", IMAGE_TOPIC, "-o", tmp_path / "c",
                  "--track-min-hits", "0")
    assert bad.returncode != 0 and "min_hits" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "c").exists()
