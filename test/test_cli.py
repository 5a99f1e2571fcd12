"""The posenet-ros CLI as a user runs it: JSON format, annotated outputs, errors, convert."""
import json
import subprocess
import sys

from posenet_ros.core import paths
from posenet_ros.core.keypoints import PART_NAMES
import pytest


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "posenet_ros.cli.main", *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def still(models):
    path = paths.data_dir() / "messi5.jpg"
    if not path.is_file():
        pytest.skip(f"{path} missing: run `make setup`")
    return str(path)


def test_estimate_json_is_one_array_in_tfjs_format(still):
    done = run_cli("estimate", still, still, "--json", "--mode", "single", "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert ([r["source"] for r in results] == [still, still]
            and [r["frame"] for r in results] == [0, 0])
    for r in results:
        assert len(r["poses"]) == 1
        pose = r["poses"][0]
        assert 0 <= pose["score"] <= 1
        assert [k["part"] for k in pose["keypoints"]] == list(PART_NAMES)
        assert set(pose["keypoints"][0]["position"]) == {"x", "y"}


def test_estimate_writes_annotated_image_and_video(still, tmp_path):
    out = tmp_path / "annotated.png"
    assert run_cli("estimate", still, "--output", str(out), "--providers", "cpu").returncode == 0
    assert out.stat().st_size > 1000
    video = paths.sample_video()
    if video.is_file():
        import cv2
        clip = tmp_path / "clip.avi"
        cap, writer = cv2.VideoCapture(str(video)), None
        for _ in range(5):       # a 5-frame clip keeps the test fast
            ok, frame = cap.read()
            writer = writer or cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                                               (frame.shape[1], frame.shape[0]))
            writer.write(frame)
        writer.release()
        out_video = tmp_path / "out.mp4"
        done = run_cli("estimate", str(clip), "--json", "--output", str(out_video),
                       "--providers", "cpu")
        assert done.returncode == 0, done.stderr
        assert [r["frame"] for r in json.loads(done.stdout)] == list(range(5))
        assert cv2.VideoCapture(str(out_video)).get(cv2.CAP_PROP_FRAME_COUNT) == 5


def test_unreadable_input_is_one_clear_line_not_a_traceback(models, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    done = run_cli("estimate", str(bad), "--providers", "cpu")
    assert done.returncode == 1
    assert "not a readable image" in done.stderr and "Traceback" not in done.stderr


def test_bad_option_is_refused_before_loading(models):
    done = run_cli("estimate", "x.png", "--score-threshold", "2")
    assert done.returncode != 0 and "score_threshold" in done.stderr


def test_convert_is_a_no_op_when_models_are_current(models):
    done = run_cli("convert")
    assert done.returncode == 0, done.stderr
    from posenet_ros.core.config import VALID_STRIDES
    from posenet_ros.families import MOVENET, NAMES_BY_FAMILY
    assert done.stderr.count("up to date") == len(VALID_STRIDES) + len(NAMES_BY_FAMILY[MOVENET])


def test_engine_options_default_to_the_engine_config():
    import argparse

    from posenet_ros.cli.engine_options import add_engine_arguments, config_from_args
    from posenet_ros.core.config import EstimatorConfig
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    assert config_from_args(parser.parse_args([])) == EstimatorConfig()


def test_estimate_on_a_video_gives_the_ids_a_tracker_gives(models, tmp_path):
    """Ids in the CLI's JSON equal an independent PoseTracker run over the engine's poses."""
    import cv2
    from posenet_ros.estimator import PoseEstimator
    from posenet_ros.imaging.files import iter_video
    from posenet_ros.stages.track.config import TrackerConfig
    from posenet_ros.stages.track.tracker import PoseTracker
    video = paths.sample_video()
    if not video.is_file():
        pytest.skip(f"{video} missing: run `make setup`")
    clip, frames = tmp_path / "clip.avi", []
    writer = None
    for frame in iter_video(video):
        if len(frames) == 12:
            break
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        writer = writer or cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                                           (bgr.shape[1], bgr.shape[0]))
        writer.write(bgr)
        frames.append(frame)
    writer.release()
    done = run_cli("estimate", str(clip), "--json", "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    got = [[p.get("track_id", 0) for p in r["poses"]] for r in json.loads(done.stdout)]
    engine, tracker = PoseEstimator(providers=("cpu",)), PoseTracker(TrackerConfig())
    decoded = [rgb for _, rgb in zip(range(12), iter_video(clip))]   # the clip's own pixels
    # The image too, as the pipeline gives it: looks weigh contested matches (and re-id).
    want = [[t.track_id for t in tracker.update(list(engine.estimate(rgb).poses), i / 10,
                                                image=rgb)]
            for i, rgb in enumerate(decoded)]
    assert got == want
    assert any(ids for ids in want[TrackerConfig().min_hits:])   # people got ids
    off = run_cli("estimate", str(clip), "--json", "--no-tracking", "--providers", "cpu")
    assert all("track_id" not in p for r in json.loads(off.stdout) for p in r["poses"])
