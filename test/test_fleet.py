"""``posenet-ros fleet`` on a local Ray (2 CPUs) over seven small bags of two robots.

Real bags (vtest.avi; MCAP and sqlite3, raw and JPEG, two robot namespaces), one corrupt, one
without the topic and one cut off part-way (damaged: outputs up to the cut, as ``bag``). Each
analysed bag's outputs are compared with ``posenet-ros bag`` run on it alone; the fleet table
is read back with pyarrow; a rerun must not start Ray at all.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time

from bag_fixtures import require_model, run_cli, sample_video
import pytest

ray = pytest.importorskip("ray", reason="the fleet extra is not installed "
                                        "(pip install --require-hashes -r requirements/fleet.txt)")
pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow (the fleet extra) is not installed")

pytestmark = pytest.mark.timeout(600)
# (folder, topic, compressed, storage, frames)
GOOD = {"robot1/day1": ("/robot1/camera/image_raw", False, "mcap", 12),
        "robot1/day2": ("/robot1/camera/image_raw", True, "sqlite3", 10),
        "robot2/day1": ("/robot2/camera/image_raw", True, "mcap", 14),
        "robot2/day2": ("/robot2/camera/image_raw", False, "sqlite3", 10)}
FLEET_ARGS = ("--topic", "camera/image_raw", "--workers", "2")
CUT = "robot1/cut"      # robot1/day1 with its MCAP cut at 60 % of its bytes


def make_fleet(root: Path) -> Path:
    """Write the six bags under ``root/in``; returns that folder."""
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    video = sample_video()
    inputs = root / "in"
    for folder, (topic, compressed, storage, frames) in GOOD.items():
        (inputs / folder).parent.mkdir(parents=True, exist_ok=True)
        write_video_bag(VideoBagJob(video, inputs / folder, topic=topic, compressed=compressed,
                                    storage=storage, max_frames=frames))
    write_video_bag(VideoBagJob(video, inputs / "robot2" / "thermal",
                                topic="/robot2/thermal/image", max_frames=3))
    # A recording cut off and overwritten: an MCAP name, no MCAP inside.
    (inputs / "robot2" / "corrupt.mcap").write_bytes(os.urandom(4096))
    shutil.copytree(inputs / "robot1" / "day1", inputs / CUT)
    mcap = next((inputs / CUT).glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[:int(mcap.stat().st_size * 0.6)])
    return inputs


def fleet(*args) -> subprocess.CompletedProcess:
    return run_cli("fleet", *args)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    require_model()
    root = tmp_path_factory.mktemp("fleet")
    inputs = make_fleet(root)
    out = root / "out"
    result = fleet(inputs, "-o", out, *FLEET_ARGS)
    summary = json.loads((out / "fleet_summary.json").read_text())
    return root, inputs, out, result, summary


def _name(folder: str) -> str:
    return folder.replace("/", "__")


def test_failed_bags_are_named_with_reasons_and_exit_1(first_run):
    _, inputs, out, result, summary = first_run
    assert result.returncode == 1, result.stderr
    failures = {f["name"]: f for f in summary["failures"]}
    assert set(failures) == {"corrupt", "thermal", "cut"}, summary["failures"]
    assert "not an MCAP file" in failures["corrupt"]["reason"]
    assert "'camera/image_raw' is not in bag" in failures["thermal"]["reason"]
    assert "/robot2/thermal/image" in failures["thermal"]["reason"]   # the topics it holds
    assert failures["cut"]["status"] == "damaged"
    assert "truncated or corrupt" in failures["cut"]["reason"]
    for name in failures:
        assert f"{name} (" in result.stderr
        assert (out / "bags" / name).exists() == (name == "cut")
    assert summary["done"] == len(GOOD)
    assert sorted(p.name for p in (out / "bags").iterdir()) == sorted(
        [*map(_name, GOOD), "cut"])
    # The one progress line, at its end: every bag, every frame read, the failures.
    last = [line for line in result.stderr.splitlines() if line.startswith("fleet: ")][-1]
    assert last.startswith("fleet: 7/7 bags, ") and last.endswith(", 3 failed"), last


def test_each_bag_equals_posenet_ros_bag_on_it(first_run):
    root, inputs, out, _, summary = first_run
    topics = {r["name"]: r["topic"] for r in summary["per_bag"]}
    expected = {**GOOD, CUT: (*GOOD["robot1/day1"][:3], None)}
    for folder, (topic, compressed, _, frames) in expected.items():
        name = "cut" if folder == CUT else _name(folder)
        assert topics[name] == topic + ("/compressed" if compressed else "")
        alone = root / "alone" / name
        single = run_cli("bag", inputs / folder, "--topic", topics[name], "-o", alone)
        assert single.returncode == (3 if folder == CUT else 0), single.stderr
        ours = out / "bags" / name
        assert (ours / "keypoints.csv").read_text() == (alone / "keypoints.csv").read_text()
        mine, theirs = (json.loads((d / "summary.json").read_text()) for d in (ours, alone))
        assert mine["frames"] == theirs["frames"] == (frames or mine["frames"])
        assert mine["fault"] == theirs["fault"]
        assert mine["tracking"]["tracks"] == theirs["tracking"]["tracks"]
        assert mine["output_topic"] == theirs["output_topic"]
        assert mine["outputs"]["csv"] == str(ours / "keypoints.csv")    # not the temporary
        assert {p.name for p in alone.iterdir()} <= {p.name for p in ours.iterdir()}


def test_fleet_table_reads_back(first_run):
    _, _, out, _, summary = first_run
    frames, tracks = pq.read_table(out / "frames.parquet"), pq.read_table(out / "tracks.parquet")
    per_bag = {}
    for name in [*map(_name, GOOD), "cut"]:
        bag_summary = json.loads((out / "bags" / name / "summary.json").read_text())
        per_bag[name] = bag_summary
    assert frames.num_rows == sum(s["frames"] for s in per_bag.values())
    assert tracks.num_rows == sum(s["tracking"]["count"] for s in per_bag.values())
    rows = frames.to_pydict()
    for name, s in per_bag.items():
        people = [p for b, p in zip(rows["bag"], rows["people"]) if b == name]
        assert len(people) == s["frames"] and sum(people) == s["poses"]
    assert set(zip(rows["bag"], rows["robot"])) == {
        (_name(f), f.split("/")[0]) for f in GOOD} | {("cut", "robot1")}
    assert set(summary["robots"]) == {"robot1", "robot2"}
    assert summary["robots"]["robot1"]["frames"] == 22 + per_bag["cut"]["frames"]
    assert summary["robots"]["robot2"]["frames"] == 24
    assert (out / "robots.png").stat().st_size > 0


def test_rerun_skips_finished_bags_without_ray(first_run):
    _, inputs, out, _, _ = first_run
    before = {p: p.stat().st_mtime_ns for p in (out / "bags").rglob("keypoints.csv")}
    start = time.monotonic()
    again = fleet(inputs, "-o", out, *FLEET_ARGS)
    took = time.monotonic() - start
    summary = json.loads((out / "fleet_summary.json").read_text())
    assert again.returncode == 1, again.stderr            # the two failures still stand
    assert summary["skipped"] == len(GOOD) + 1 and summary["done"] == 0
    assert summary["time_s"]["ray_start"] == 0.0
    assert {p: p.stat().st_mtime_ns for p in (out / "bags").rglob("keypoints.csv")} == before
    assert took < 15, f"a rerun with nothing to do took {took:.1f} s"


def test_changed_settings_redo_the_bags(first_run, tmp_path):
    _, inputs, out, _, _ = first_run
    copy = tmp_path / "out"
    subprocess.run(["cp", "-a", str(out), str(copy)], check=True)
    again = fleet(inputs / "robot1" / "day1", "-o", copy, *FLEET_ARGS, "--max-detections", "2")
    summary = json.loads((copy / "fleet_summary.json").read_text())
    assert again.returncode == 0, again.stderr
    assert summary["done"] == 1 and summary["skipped"] == 0


def test_ctrl_c_keeps_complete_outputs_and_a_rerun_finishes(first_run, tmp_path):
    _, inputs, out, _, _ = first_run
    cut = tmp_path / "cut"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    bags = [str(inputs / f) for f in GOOD]
    proc = subprocess.Popen([sys.executable, "-m", "posenet_ros.cli.main", "fleet", *bags,
                             "-o", str(cut), "--topic", "camera/image_raw", "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name == "fleet.json" for p in (cut / "bags").glob("*/fleet.json")):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    left = sorted(p.name for p in (cut / "bags").iterdir())
    assert all(".tmp-" not in n and ".old-" not in n for n in left), left
    assert 1 <= len(left) < len(GOOD), left
    for name in left:
        assert (cut / "bags" / name / "fleet.json").is_file()
    rerun = fleet(*bags, "-o", cut, *FLEET_ARGS)
    summary = json.loads((cut / "fleet_summary.json").read_text())
    assert rerun.returncode == 0, rerun.stderr
    assert summary["skipped"] == len(left) and summary["done"] == len(GOOD) - len(left)
    for folder in GOOD:
        name = _name(folder)
        assert ((cut / "bags" / name / "keypoints.csv").read_text()
                == (out / "bags" / name / "keypoints.csv").read_text())


def test_a_killed_worker_s_bag_runs_again_on_its_restarted_actor(first_run, tmp_path):
    _, inputs, out, _, _ = first_run
    kill = tmp_path / "kill"
    proc = subprocess.Popen([sys.executable, "-m", "posenet_ros.cli.main", "fleet",
                             *map(str, (inputs / f for f in GOOD)), "-o", str(kill),
                             "--topic", "camera/image_raw", "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    records = []
    while time.monotonic() < deadline and proc.poll() is None and not records:
        records = list((kill / "bags").glob("*/fleet.json"))
        time.sleep(0.1)
    assert records, "no bag finished"
    killed = json.loads(records[0].read_text())["worker_pid"]
    os.kill(killed, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    summary = json.loads((kill / "fleet_summary.json").read_text())
    assert proc.returncode == 0, (summary["failures"], err[-2000:])
    assert summary["done"] == len(GOOD)
    pids = {r["name"]: json.loads((kill / "bags" / r["name"] / "fleet.json").read_text())[
        "worker_pid"] for r in summary["per_bag"]}
    assert any(pid != killed for pid in pids.values()), pids   # the restarted actor's
    assert all(".tmp-" not in p.name for p in (kill / "bags").iterdir())
    for folder in GOOD:
        name = _name(folder)
        assert ((kill / "bags" / name / "keypoints.csv").read_text()
                == (out / "bags" / name / "keypoints.csv").read_text())
