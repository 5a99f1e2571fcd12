"""``posenet-ros fleet`` on a local Ray (2 CPUs): the issue's scene of twenty bags, three robots.

Real bags (vtest.avi; MCAP and sqlite3, raw and JPEG, three robot namespaces, one robot named
by its folder), one corrupt and one without the topic: the two failed bags. Each analysed
bag's outputs are compared with ``posenet-ros bag`` run on it alone; the fleet table is read
back with pyarrow; a rerun must not start Ray at all. A bag cut off part-way (damaged: outputs
up to the cut, as ``bag``) is run apart, so that the scene keeps the issue's wording.
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

pytestmark = pytest.mark.timeout(900)
ROBOTS = ("robot1", "robot2", "robot3")
DAYS = 6
FLEET_ARGS = ("--topic", "camera/image_raw", "--workers", "2")
FOLDER_NAMED = "robot3/day6"     # recorded without a namespace: the robot is its folder
FAILED = {"corrupt": "robot2/corrupt.mcap", "thermal": "robot3/thermal"}


def _good() -> dict[str, tuple[str, bool, str, int]]:
    """(folder -> topic, compressed, storage, frames) for the 18 bags that analyse."""
    good = {}
    for r, robot in enumerate(ROBOTS):
        for day in range(1, DAYS + 1):
            i = r * DAYS + day
            folder = f"{robot}/day{day}"
            topic = "/camera/image_raw" if folder == FOLDER_NAMED else f"/{robot}/camera/image_raw"
            good[folder] = (topic, i % 2 == 0, ("mcap", "sqlite3")[(i // 2) % 2], 6 + i % 4)
    return good


GOOD = _good()


def make_fleet(root: Path) -> Path:
    """Write the twenty bags under ``root/in``; returns that folder."""
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    video = sample_video()
    inputs = root / "in"
    for folder, (topic, compressed, storage, frames) in GOOD.items():
        (inputs / folder).parent.mkdir(parents=True, exist_ok=True)
        write_video_bag(VideoBagJob(video, inputs / folder, topic=topic, compressed=compressed,
                                    storage=storage, max_frames=frames))
    write_video_bag(VideoBagJob(video, inputs / FAILED["thermal"],
                                topic="/robot3/thermal/image", max_frames=3))
    # A recording cut off and overwritten: an MCAP name, no MCAP inside.
    (inputs / FAILED["corrupt"]).write_bytes(os.urandom(4096))
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


def test_the_two_failed_bags_are_named_with_reasons_and_exit_1(first_run):
    _, inputs, out, result, summary = first_run
    assert len(list(inputs.glob("*/*"))) == 20
    assert result.returncode == 1, result.stderr
    failures = {f["name"]: f for f in summary["failures"]}
    assert set(failures) == set(FAILED), summary["failures"]
    assert summary["failed"] == 2 and summary["done"] == len(GOOD) == 18
    assert {f["status"] for f in failures.values()} == {"failed"}
    assert "not an MCAP file" in failures["corrupt"]["reason"]
    assert "'camera/image_raw' is not in bag" in failures["thermal"]["reason"]
    assert "/robot3/thermal/image" in failures["thermal"]["reason"]   # the topics it holds
    for name, folder in FAILED.items():
        assert f"{name} ({inputs / folder}) failed: " in result.stderr
        assert not (out / "bags" / name).exists()
    assert sorted(p.name for p in (out / "bags").iterdir()) == sorted(map(_name, GOOD))
    # The one progress line, at its end: every bag, every frame read, the failures.
    last = [line for line in result.stderr.splitlines() if line.startswith("fleet: ")][-1]
    assert last.startswith("fleet: 20/20 bags, ") and last.endswith(", 2 failed"), last
    # A local Ray's workers run at the command's priority, not Ray's niced default.
    workers = summary["ray"]["workers"]
    assert len(workers) == 2 and {w["niceness"] for w in workers} == {os.nice(0)}, workers


def _same_as_bag_alone(bag: Path, topic: str, ours: Path, alone: Path) -> dict:
    """Run ``posenet-ros bag`` on ``bag`` into ``alone``; compare with the fleet's ``ours``."""
    single = run_cli("bag", bag, "--topic", topic, "-o", alone)
    mine, theirs = (json.loads((d / "summary.json").read_text()) for d in (ours, alone))
    assert (ours / "keypoints.csv").read_text() == (alone / "keypoints.csv").read_text()
    assert mine["frames"] == theirs["frames"] and mine["poses"] == theirs["poses"]
    assert mine["fault"] == theirs["fault"]
    assert mine["tracking"]["tracks"] == theirs["tracking"]["tracks"]
    assert mine.get("gestures") == theirs.get("gestures")
    assert mine["output_topic"] == theirs["output_topic"]
    assert mine["outputs"]["csv"] == str(ours / "keypoints.csv")    # not the temporary
    assert {p.name for p in alone.iterdir()} <= {p.name for p in ours.iterdir()}
    for name in ("gestures.csv",):
        if (alone / name).exists():
            assert (ours / name).read_text() == (alone / name).read_text()
    return {"returncode": single.returncode, "stderr": single.stderr, "frames": mine["frames"]}


def test_each_bag_equals_posenet_ros_bag_on_it(first_run):
    root, inputs, out, _, summary = first_run
    topics = {r["name"]: r["topic"] for r in summary["per_bag"]}
    for folder, (topic, compressed, _, frames) in GOOD.items():
        name = _name(folder)
        assert topics[name] == topic + ("/compressed" if compressed else "")
        alone = _same_as_bag_alone(inputs / folder, topics[name], out / "bags" / name,
                                   root / "alone" / name)
        assert alone["returncode"] == 0, alone["stderr"]
        assert alone["frames"] == frames


def test_fleet_table_reads_back(first_run):
    _, _, out, _, summary = first_run
    frames, tracks = pq.read_table(out / "frames.parquet"), pq.read_table(out / "tracks.parquet")
    per_bag = {}
    for name in map(_name, GOOD):
        bag_summary = json.loads((out / "bags" / name / "summary.json").read_text())
        per_bag[name] = bag_summary
    assert frames.num_rows == sum(s["frames"] for s in per_bag.values())
    assert tracks.num_rows == sum(s["tracking"]["count"] for s in per_bag.values())
    rows = frames.to_pydict()
    for name, s in per_bag.items():
        people = [p for b, p in zip(rows["bag"], rows["people"]) if b == name]
        assert len(people) == s["frames"] and sum(people) == s["poses"]
    assert set(zip(rows["bag"], rows["robot"])) == {(_name(f), f.split("/")[0]) for f in GOOD}
    assert set(summary["robots"]) == set(ROBOTS)
    for robot in ROBOTS:
        assert summary["robots"][robot]["frames"] == sum(
            n for f, (_, _, _, n) in GOOD.items() if f.startswith(robot + "/"))
        assert summary["robots"][robot]["bags"] == DAYS
    assert (out / "robots.png").stat().st_size > 0


def test_a_bag_cut_off_part_way_is_damaged_with_bag_s_outputs(first_run, tmp_path):
    root, inputs, _, _, _ = first_run
    cut = tmp_path / "in" / "robot1" / "cut"
    shutil.copytree(inputs / "robot1" / "day1", cut)       # raw MCAP
    mcap = next(cut.glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[:int(mcap.stat().st_size * 0.6)])
    out = tmp_path / "out"
    result = fleet(cut, "-o", out, *FLEET_ARGS)
    summary = json.loads((out / "fleet_summary.json").read_text())
    assert result.returncode == 1, result.stderr
    [failure] = summary["failures"]
    assert failure["status"] == "damaged" and "truncated or corrupt" in failure["reason"]
    assert summary["failed"] == 1 and f"cut ({cut}) damaged: " in result.stderr
    alone = _same_as_bag_alone(cut, "/robot1/camera/image_raw", out / "bags" / "cut",
                               tmp_path / "alone")
    assert alone["returncode"] == 3, alone["stderr"]
    assert 0 < alone["frames"] < GOOD["robot1/day1"][3]


def test_rerun_skips_finished_bags_without_ray(first_run):
    _, inputs, out, _, _ = first_run
    before = {p: p.stat().st_mtime_ns for p in (out / "bags").rglob("keypoints.csv")}
    start = time.monotonic()
    again = fleet(inputs, "-o", out, *FLEET_ARGS)
    took = time.monotonic() - start
    summary = json.loads((out / "fleet_summary.json").read_text())
    assert again.returncode == 1, again.stderr            # the two failures still stand
    assert summary["skipped"] == len(GOOD) and summary["done"] == 0
    assert summary["time_s"]["ray_start"] == 0.0
    assert {p: p.stat().st_mtime_ns for p in (out / "bags").rglob("keypoints.csv")} == before
    assert took < 5, f"a rerun with nothing to do took {took:.1f} s"


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
