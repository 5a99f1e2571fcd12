"""``posenet-ros bag`` and ``bag-from-video`` end to end on real bags made from vtest.avi.

Every run is the CLI in its own process; outputs are read back with rosbags from the message
definitions stored in them, and poses are compared with the engine run here on the same frames.
"""
from __future__ import annotations

import csv
import json
import shutil

from bag_fixtures import (
    assert_same_poses, IMAGE_TOPIC, N_FRAMES, read_topic, require_model, run_cli, sample_video,
    stamp_ns, video_frames)
import cv2
import numpy as np
from posenet_ros.bag.from_video import EPOCH_NS
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.outputs.marker_geometry import MarkerSettings, PIXEL_SIZE_M
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

COMPRESSED_TOPIC = IMAGE_TOPIC + "/compressed"


@pytest.fixture(scope="module")
def engine():
    require_model()
    from posenet_ros.estimator import PoseEstimator
    return PoseEstimator(providers=("cpu",))


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    """Bags of the first N_FRAMES frames: raw MCAP, raw sqlite3, compressed MCAP."""
    root = tmp_path_factory.mktemp("bags")
    made = {}
    for name, compressed, storage in (("raw_mcap", False, "mcap"),
                                      ("raw_sqlite3", False, "sqlite3"),
                                      ("jpeg_mcap", True, "mcap")):
        done = run_cli("bag-from-video", sample_video(), "-o", root / name, "--max-frames",
                       N_FRAMES, "--storage", storage, *(["--compressed"] if compressed else []))
        assert done.returncode == 0, done.stderr
        made[name] = root / name
    return made


def test_bag_from_video_has_consistent_stamps_and_camera_info(bags):
    frames = video_frames()
    images = read_topic(bags["raw_mcap"], IMAGE_TOPIC)
    infos = read_topic(bags["raw_mcap"], "/camera/camera_info")
    assert len(images) == len(infos) == N_FRAMES
    period_ns = round(1e9 / cv2.VideoCapture(str(sample_video())).get(cv2.CAP_PROP_FPS))
    for i, ((log_time, image), (info_time, info), rgb) in enumerate(zip(images, infos, frames)):
        assert stamp_ns(image.header) == log_time == info_time == stamp_ns(info.header) \
            == EPOCH_NS + i * period_ns
        assert image.header.frame_id == info.header.frame_id == "camera_optical_frame"
        assert (image.encoding, image.width, image.height) == ("bgr8", 768, 576)
        assert image.step == 768 * 3
        np.testing.assert_array_equal(image.data.reshape(576, 768, 3), rgb[..., ::-1])
        fx, cx, fy, cy = info.k[0], info.k[2], info.k[4], info.k[5]
        assert fx == fy > 0 and (cx, cy) == (383.5, 287.5)
        assert (info.width, info.height) == (768, 576)
        np.testing.assert_array_equal(info.p.reshape(3, 4)[:, :3], info.k.reshape(3, 3))


def test_bag_from_video_rate_and_errors(tmp_path):
    done = run_cli("bag-from-video", sample_video(), "-o", tmp_path / "b", "--max-frames", 3,
                   "--rate", 30, "--topic", "cam/image", "--frame-id", "cam", "--encoding", "rgb8")
    assert done.returncode == 0, done.stderr
    images = read_topic(tmp_path / "b", "/cam/image")
    assert [t - EPOCH_NS for t, _ in images] == [0, 33_333_333, 66_666_667]
    assert {m.encoding for _, m in images} == {"rgb8"} and images[0][1].header.frame_id == "cam"
    again = run_cli("bag-from-video", sample_video(), "-o", tmp_path / "b")
    assert again.returncode == 2 and "exists already" in again.stderr
    (tmp_path / "junk.avi").write_bytes(b"not a video")
    junk = run_cli("bag-from-video", tmp_path / "junk.avi", "-o", tmp_path / "c")
    assert junk.returncode == 2 and "junk.avi" in junk.stderr and not (tmp_path / "c").exists()


def check_outputs(out, bag, topic, engine, frames_rgb, skipped=()):
    """Check the analysis of ``bag`` in ``out`` against the engine run on ``frames_rgb``."""
    inputs = read_topic(bag, topic, skip=skipped)
    kept = [(i, t, m) for i, (t, m) in enumerate(inputs) if i not in skipped]
    outputs = read_topic(out / "poses", IMAGE_TOPIC + "/poses")   # raw and compressed alike
    assert len(outputs) == len(kept)          # one PoseArray per decodable input image
    total_poses = 0
    for (index, in_time, image), (out_time, msg) in zip(kept, outputs):
        assert out_time == in_time                                   # logged at receive time
        assert stamp_ns(msg.header) == stamp_ns(image.header)        # input header kept
        assert msg.header.frame_id == image.header.frame_id
        rgb = frames_rgb[index]
        want = engine.estimate(rgb).poses
        assert_same_poses(msg, want, rgb.shape[1], rgb.shape[0])
        assert (msg.input_width, msg.input_height) == engine.input_size(rgb.shape[1], rgb.shape[0])
        defaults = EstimatorConfig()
        assert (msg.model, msg.decoder, msg.output_stride) == (
            engine.model_name, defaults.decoder, defaults.output_stride)
        total_poses += len(want)
    assert total_poses > 0
    with open(out / "keypoints.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == NUM_KEYPOINTS * total_poses
    by_frame = {}
    for row in rows:
        by_frame.setdefault(int(row["frame"]), []).append(row)
    for (index, _, image), (_, msg) in zip(kept, outputs):
        mine = by_frame.pop(index, [])
        assert len(mine) == NUM_KEYPOINTS * len(msg.poses)
        for row in mine:
            assert int(row["stamp_ns"]) == stamp_ns(image.header)
            assert row["stamp"] == f"{image.header.stamp.sec}.{image.header.stamp.nanosec:09d}"
            pose = msg.poses[int(row["pose"])]
            keypoint = pose.keypoints[int(row["part_id"])]
            assert row["part"] == keypoint.part_name
            assert float(row["x"]) == pytest.approx(keypoint.x, abs=1e-3)
            assert float(row["pose_score"]) == pytest.approx(pose.score, abs=1e-6)
    assert not by_frame, f"CSV rows for frames without PoseArray: {sorted(by_frame)}"
    summary = json.loads((out / "summary.json").read_text())
    people = [len(m.poses) for _, m in outputs]
    assert summary["frames"] == len(outputs) and summary["poses"] == total_poses
    assert summary["frames_with_people"] == sum(1 for p in people if p)
    assert summary["people_per_frame_max"] == max(people)
    assert summary["people_per_frame_mean"] == pytest.approx(np.mean(people))
    assert summary["mean_pose_score"] == pytest.approx(
        np.mean([p.score for _, m in outputs for p in m.poses]), abs=1e-6)
    assert summary["decode_errors"] == len(skipped) and summary["frames_per_second"] > 0
    png = (out / "timeline.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    return summary


@pytest.mark.parametrize("name", ["raw_mcap", "raw_sqlite3", "jpeg_mcap"])
def test_analysis_has_one_pose_array_per_image_equal_to_engine(bags, engine, tmp_path, name):
    topic = COMPRESSED_TOPIC if name.startswith("jpeg") else IMAGE_TOPIC
    done = run_cli("bag", bags[name], "--topic", topic, "-o", tmp_path, "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    assert "frames/s" in done.stdout and f"{N_FRAMES} analysed" in done.stdout
    if name.startswith("jpeg"):   # the engine's input: the JPEGs in the bag, decoded here
        frames = [cv2.cvtColor(cv2.imdecode(m.data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                  for _, m in read_topic(bags[name], topic)]
    else:
        frames = video_frames()
    summary = check_outputs(tmp_path, bags[name], topic, engine, frames)
    assert summary["complete"] and summary["fault"] is None
    assert summary["messages_read"] == summary["messages_in_bag"] == N_FRAMES


def test_markers_follow_the_node_convention(bags, tmp_path):
    done = run_cli("bag", bags["raw_mcap"], "--topic", IMAGE_TOPIC, "-o", tmp_path, "--markers",
                   "--output-topic", "/people", "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    poses = dict(read_topic(tmp_path / "poses", "/people"))
    markers = read_topic(tmp_path / "poses", IMAGE_TOPIC + "/pose_markers")
    assert len(markers) == len(poses) == N_FRAMES
    settings = MarkerSettings()       # the tool's defaults: no --marker-* options given
    labels = 0
    for log_time, array in markers:
        first, *rest = array.markers
        marker_type = type(first)     # the class from the definition stored in the bag
        assert first.action == marker_type.DELETEALL
        for marker in rest:
            pose_array = poses[log_time]
            slots = {p.track_id if p.track_id else -(i + 1): p        # Pose.slot's rule
                     for i, p in enumerate(pose_array.poses)}
            pose = slots[marker.id]
            visible = [k for k in pose.keypoints if k.score >= settings.min_keypoint_score]
            centre = (pose_array.image_width / 2, pose_array.image_height / 2)
            assert marker.header.frame_id == "camera_optical_frame"
            if marker.ns == "keypoints":
                assert marker.type == marker_type.SPHERE_LIST
                assert len(marker.points) == len(visible)
                for point, k in zip(marker.points, visible):   # 1 px = 1 mm, centred
                    assert (point.x, point.y, point.z) == pytest.approx(
                        ((k.x - centre[0]) * PIXEL_SIZE_M, (k.y - centre[1]) * PIXEL_SIZE_M,
                         settings.depth), abs=1e-6)
            elif marker.ns == "labels":     # tracked people (on by default) are labelled
                assert marker.type == marker_type.TEXT_VIEW_FACING
                assert pose.track_id > 0 and marker.text == f"id {pose.track_id}"
                labels += 1
            else:
                assert marker.ns == "skeleton" and marker.type == marker_type.LINE_LIST
                assert len(marker.points) % 2 == 0
    assert labels == sum(1 for a in poses.values() for p in a.poses if p.track_id > 0) > 0


@pytest.mark.parametrize("name", ["raw_mcap", "jpeg_mcap"])
def test_bag_cut_mid_file_gives_clear_error_and_valid_partial_outputs(
        bags, engine, tmp_path, name):
    topic = COMPRESSED_TOPIC if name.startswith("jpeg") else IMAGE_TOPIC
    cut = tmp_path / "cut"
    shutil.copytree(bags[name], cut)
    mcap = next(cut.glob("*.mcap"))
    data = mcap.read_bytes()
    mcap.write_bytes(data[:int(len(data) * 0.6)])
    done = run_cli("bag", cut, "--topic", topic, "-o", tmp_path / "out", "--providers", "cpu")
    assert done.returncode == 3, done.stderr
    assert "truncated or corrupt" in done.stderr and "valid" in done.stderr
    outputs = read_topic(tmp_path / "out" / "poses", IMAGE_TOPIC + "/poses")
    # Frames are evenly sized: the cut at 60% of the bytes keeps ~60% of the frames.
    assert abs(len(outputs) - 0.6 * N_FRAMES) <= 1.5, len(outputs)
    intact = read_topic(bags[name], topic)[:len(outputs)]
    for (_, image), (_, msg) in zip(intact, outputs):
        assert stamp_ns(msg.header) == stamp_ns(image.header)
    if name == "raw_mcap":
        summary = check_outputs_partial(tmp_path / "out", engine, len(outputs))
    else:
        summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert not summary["complete"] and "truncated" in summary["fault"]
    assert summary["messages_in_bag"] == N_FRAMES and summary["messages_read"] == len(outputs)


def check_outputs_partial(out, engine, count):
    frames = video_frames(count)
    outputs = read_topic(out / "poses", IMAGE_TOPIC + "/poses")
    for rgb, (_, msg) in zip(frames, outputs):
        assert_same_poses(msg, engine.estimate(rgb).poses, 768, 576)
    with open(out / "keypoints.csv", newline="") as f:
        assert sum(1 for _ in f) - 1 == NUM_KEYPOINTS * sum(len(m.poses) for _, m in outputs)
    return json.loads((out / "summary.json").read_text())


def test_undecodable_frames_are_skipped_and_counted(bags, engine, tmp_path):
    """A bag whose frames 5, 17, 30 are garbage, a JPEG cut in half and a broken message."""
    src, bad = bags["jpeg_mcap"], tmp_path / "bad"
    with Reader(src) as reader, \
            Writer(bad, version=8, storage_plugin=StoragePlugin.SQLITE3) as out:
        conns = {c.id: out.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data,
                                          rihs01=c.digest) for c in reader.connections}
        index = 0
        for conn, log_time, raw in reader.messages():
            if conn.topic == COMPRESSED_TOPIC:
                raw = corrupt(raw, index)
                index += 1
            out.write(conns[conn.id], log_time, raw)
    done = run_cli("bag", bad, "--topic", COMPRESSED_TOPIC, "-o", tmp_path / "out", "--providers",
                   "cpu")
    assert done.returncode == 0, done.stderr
    assert "3 undecodable (skipped)" in done.stdout and "frame 5 skipped" in done.stderr
    frames = [cv2.cvtColor(cv2.imdecode(m.data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
              for _, m in read_topic(src, COMPRESSED_TOPIC)]
    summary = check_outputs(tmp_path / "out", bad, COMPRESSED_TOPIC, engine, frames,
                            skipped={5, 17, 30})
    reasons = {e["frame"]: e["reason"] for e in summary["decode_error_examples"]}
    assert sorted(reasons) == [5, 17, 30]
    assert "neither JPEG nor PNG" in reasons[5] and "truncated JPEG" in reasons[17]
    assert "cannot be deserialised" in reasons[30]


def corrupt(raw: bytes, index: int) -> bytes:
    from posenet_ros.bag.typestore import COMPRESSED_IMAGE, typestore
    store = typestore()
    if index == 30:
        return raw[:12]
    if index not in (5, 17):
        return raw
    msg = store.deserialize_cdr(raw, COMPRESSED_IMAGE)
    data = b"garbage, not an image" if index == 5 else msg.data[:len(msg.data) // 2].tobytes()
    msg = type(msg)(header=msg.header, format=msg.format, data=np.frombuffer(data, np.uint8))
    return bytes(store.serialize_cdr(msg, COMPRESSED_IMAGE))


def test_missing_topic_lists_the_topics(bags, tmp_path):
    done = run_cli("bag", bags["raw_mcap"], "--topic", "/front/image", "-o", tmp_path / "o")
    assert done.returncode == 2
    assert "'/front/image' is not in bag" in done.stderr
    assert f"{IMAGE_TOPIC} (sensor_msgs/msg/Image, {N_FRAMES} messages)" in done.stderr
    assert "/camera/camera_info (sensor_msgs/msg/CameraInfo" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "o").exists()


def test_wrong_message_type_names_the_image_topics(bags, tmp_path):
    done = run_cli("bag", bags["raw_mcap"], "--topic", "/camera/camera_info", "-o", tmp_path / "o")
    assert done.returncode == 2
    assert "carries sensor_msgs/msg/CameraInfo, not sensor_msgs/msg/Image or " \
           "sensor_msgs/msg/CompressedImage" in done.stderr
    assert f"Image topics in the bag: {IMAGE_TOPIC} (" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "o").exists()


def test_unusable_inputs_and_outputs_are_refused(bags, tmp_path):
    absent = run_cli("bag", tmp_path / "nope", "--topic", IMAGE_TOPIC, "-o", tmp_path / "o")
    assert absent.returncode == 2 and "does not exist" in absent.stderr
    (tmp_path / "x.mcap").write_bytes(b"\x00" * 100)
    junk = run_cli("bag", tmp_path / "x.mcap", "--topic", IMAGE_TOPIC, "-o", tmp_path / "o")
    assert junk.returncode == 2 and "cannot read bag" in junk.stderr
    assert "not an MCAP" in junk.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "summary.json").write_text("{}")
    busy = run_cli("bag", bags["raw_mcap"], "--topic", IMAGE_TOPIC, "-o", tmp_path / "busy",
                   "--providers", "cpu")
    assert busy.returncode == 2 and "--force" in busy.stderr
    assert (tmp_path / "busy" / "summary.json").read_text() == "{}"
    forced = run_cli("bag", bags["raw_mcap"], "--topic", "camera/image_raw", "-o",
                     tmp_path / "busy", "--providers", "cpu", "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((tmp_path / "busy" / "summary.json").read_text())["frames"] == N_FRAMES
    for args in (("--resolution", "5000"), ("--stride", "7")):
        bad = run_cli("bag", bags["raw_mcap"], "--topic", IMAGE_TOPIC, "-o", tmp_path / "z",
                      *args)
        assert bad.returncode in (1, 2) and "Traceback" not in bad.stderr
        assert args[1] in bad.stderr and not (tmp_path / "z").exists()


def test_interruption_leaves_valid_outputs_of_the_frames_done(bags, engine, tmp_path):
    """Ctrl-C (KeyboardInterrupt) mid-run: outputs are closed and hold the frames done."""
    from posenet_ros.bag.analyze import analyze, BagJob

    def stop_after_seven(done, total):
        if done == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyze(BagJob(bags["raw_mcap"], IMAGE_TOPIC, tmp_path), engine, stop_after_seven)
    outputs = read_topic(tmp_path / "poses", IMAGE_TOPIC + "/poses")
    assert len(outputs) == 7
    for rgb, (_, msg) in zip(video_frames(7), outputs):
        assert_same_poses(msg, engine.estimate(rgb).poses, 768, 576)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames"] == 7 and not summary["complete"]
    assert "interrupted" in summary["fault"]
    with open(tmp_path / "keypoints.csv", newline="") as f:
        assert sum(1 for _ in f) - 1 == NUM_KEYPOINTS * sum(len(m.poses) for _, m in outputs)


def test_frames_the_engine_refuses_are_skipped_and_counted(engine, tmp_path):
    """A decodable frame the engine cannot take (a side over its limit) is one skipped frame."""
    from posenet_ros.bag.typestore import IMAGE, typestore
    store, frames = typestore(), video_frames(2)
    t = store.types
    shapes = [frames[0], np.zeros((2, 20000, 3), np.uint8), frames[1]]
    with Writer(tmp_path / "odd", version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(IMAGE_TOPIC, IMAGE, typestore=store)
        for i, rgb in enumerate(shapes):
            header = t["std_msgs/msg/Header"](
                stamp=t["builtin_interfaces/msg/Time"](sec=i, nanosec=0), frame_id="cam")
            msg = t[IMAGE](header=header, height=rgb.shape[0], width=rgb.shape[1],
                           encoding="rgb8", is_bigendian=0, step=rgb.shape[1] * 3,
                           data=rgb.ravel())
            writer.write(conn, (i + 1) * 10**9, store.serialize_cdr(msg, IMAGE))
    done = run_cli("bag", tmp_path / "odd", "--topic", IMAGE_TOPIC, "-o", tmp_path / "out",
                   "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    check_outputs(tmp_path / "out", tmp_path / "odd", IMAGE_TOPIC, engine, shapes, skipped={1})
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "pose estimation failed" in summary["decode_error_examples"][0]["reason"]
