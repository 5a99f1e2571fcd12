"""``posenet-ros estimate --model movenet-*`` against pose-detection 2.1.3 on unseen images.

The images are ones no other test uses: vtest.avi frames 555 and 711 (the parity suites use
0-19, multiples of 100 and 0/158/317/476/635/794) and compositions of the stills (mirrored,
rescaled, cropped to portrait), written as PNG so that both sides read the same pixels.
All go through one CLI call, so each file must be its own stream: a crop region carried over
from the previous file would move the next file's keypoints away from the reference's
first-frame answer. Tolerances are the issue's: same pose count, keypoints within 3 px where
the reference scores them >= 0.3, scores within 0.03.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import re
import subprocess
import sys

import numpy as np
from posenet_ros.core import paths
from posenet_ros.families import MOVENET, NAMES_BY_FAMILY
from prerequisites import missing
import pytest

pytest_plugins = ["parity_fixtures"]   # movenet_reference

PX, SCORE, CONFIDENT = 3.0, 0.03, 0.3
UNSEEN_VIDEO_FRAMES = (555, 711)


@pytest.fixture(scope="module")
def unseen_images(tmp_path_factory) -> list[Path]:
    import cv2
    from posenet_ros.imaging.files import iter_video, read_image

    data = paths.data_dir()
    needed = [data / "basketball1.png", data / "basketball2.png", data / "messi5.jpg",
              paths.sample_video()]
    if not all(p.is_file() for p in needed):
        missing("sample stills or vtest.avi missing; run `make setup`")
    b1, b2, messi = (read_image(p) for p in needed[:3])
    frames = [f for i, f in enumerate(iter_video(paths.sample_video()))
              if i in UNSEEN_VIDEO_FRAMES]
    h, w = frames[1].shape[:2]
    images = {
        "basketball1-mirrored-0.8": cv2.resize(b1[:, ::-1], None, fx=0.8, fy=0.8,
                                               interpolation=cv2.INTER_AREA),
        "basketball2-1.3": cv2.resize(b2, None, fx=1.3, fy=1.3, interpolation=cv2.INTER_LINEAR),
        "messi5-left-portrait": messi[:, : messi.shape[0] * 3 // 4],
        "vtest-555": frames[0],
        "vtest-711-portrait-mirrored": frames[1][:, w // 4: w // 4 + h * 2 // 3][:, ::-1],
    }
    folder = tmp_path_factory.mktemp("unseen")
    written = []
    for name, rgb in images.items():
        path = folder / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "posenet_ros.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("model", NAMES_BY_FAMILY[MOVENET])
def test_cli_matches_pose_detection_on_unseen_images(movenet_reference, unseen_images, model):
    from posenet_ros.imaging.files import read_image

    if not (paths.models_dir() / f"{model}.onnx").is_file():
        missing(f"{model}.onnx not converted; run `posenet-ros convert`")
    done = _cli("estimate", *map(str, unseen_images), "--model", model, "--json",
                "--providers", "cpu")
    assert done.returncode == 0, done.stderr
    ours = {Path(r["source"]).name: r["poses"] for r in json.loads(done.stdout)}
    assert len(ours) == len(unseen_images)
    compared = 0
    for path in unseen_images:
        theirs, _ = movenet_reference.estimate(read_image(path), model, stream=path.name,
                                               reset=True)
        found = ours[path.name]
        assert len(found) == len(theirs), f"{model} {path.name}"
        for a, b in zip(found, theirs):
            assert abs(a["score"] - b["score"]) < SCORE, f"{model} {path.name}"
            for ka, kb in zip(a["keypoints"], b["keypoints"]):
                # Same COCO order; pose-detection spells the names in snake case.
                assert re.sub("([A-Z])", r"_\1", ka["part"]).lower() == kb["name"], model
                assert abs(ka["score"] - kb["score"]) < SCORE, f"{model} {path.name} {kb['name']}"
                if kb["score"] >= CONFIDENT:
                    d = np.hypot(ka["position"]["x"] - kb["x"], ka["position"]["y"] - kb["y"])
                    assert d <= PX, f"{model} {path.name} {kb['name']}: {d:.2f} px"
                    compared += 1
    assert compared > 0, f"{model}: no confident keypoint on any unseen image"


@pytest.mark.parametrize("model", NAMES_BY_FAMILY[MOVENET])
def test_cli_int8_runs_where_the_guard_let_it_in_and_names_a_refusal(unseen_images, model):
    int8 = paths.movenet_model(model, quantized=True)
    record = paths.refusal_record(int8)
    if not int8.is_file() and not record.is_file():
        missing(f"{model}: no int8 verdict yet; run `posenet-ros convert --int8`")
    done = _cli("estimate", *map(str, unseen_images[:2]), "--model", model, "--int8", "--json",
                "--providers", "cpu")
    if int8.is_file():
        assert done.returncode == 0, done.stderr
        assert f"loaded {model}-int8 on" in done.stderr
        assert len(json.loads(done.stdout)) == 2
    else:
        assert done.returncode == 2 and not done.stdout
        assert "refused by the int8 accuracy guard" in done.stderr and str(record) in done.stderr
