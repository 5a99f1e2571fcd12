"""The README's demo, short: vtest.avi frames over DDS to the installed node, outputs written."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
from dds_probe import vtest_frames
import numpy as np
import pytest

FRAMES = 12
RESOLUTION = 385     # not the demo's default: the node must take the one given


@pytest.fixture(scope="module")
def demo(ros_context, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run([sys.executable, "-m", "posenet_ros.ros.tools.demo",
                          "--frames", str(FRAMES), "--rate", "4", "--out", str(out),
                          "--resolution", str(RESOLUTION)],
                         capture_output=True, text=True, timeout=300, cwd=out)
    return run, out


def test_demo_succeeds_and_summarises(demo):
    run, out = demo
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"frames sent        {FRAMES}" in run.stdout
    for line in ("PoseArrays", "people per frame", "mean pose score", "latency", "in the node"):
        assert line in run.stdout, run.stdout
    assert "Traceback" not in run.stderr


def test_demo_outputs_match_the_engine(demo, ros_context):
    from posenet_ros.estimator import PoseEstimator
    _, out = demo
    records = [json.loads(line) for line in (out / "poses.jsonl").read_text().splitlines()]
    assert len(records) >= FRAMES // 2
    frames = sorted(r["frame"] for r in records)
    assert frames == sorted(set(frames)) and frames[-1] == FRAMES - 1
    engine = PoseEstimator(providers=("cpu",), input_resolution=RESOLUTION)
    video = vtest_frames(list(range(FRAMES)))
    for record in records[:3]:
        rgb = cv2.cvtColor(video[record["frame"]], cv2.COLOR_BGR2RGB)
        want = [p.to_dict() for p in engine.estimate(rgb).poses]
        assert len(record["poses"]) == len(want)
        for got, expected in zip(record["poses"], want):
            assert got["score"] == pytest.approx(expected["score"], abs=1e-5)
            got_xy = [(k["position"]["x"], k["position"]["y"]) for k in got["keypoints"]]
            want_xy = [(k["position"]["x"], k["position"]["y"]) for k in expected["keypoints"]]
            np.testing.assert_allclose(got_xy, want_xy, atol=1e-3)
    capture = cv2.VideoCapture(str(out / "annotated.mp4"))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert len(records) - 1 <= count <= len(records)   # the last image may still be in flight
