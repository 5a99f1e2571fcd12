"""Gestures in ``posenet-ros bag`` and the fleet table: a real hand raised, and lowered again.

The recording: basketball2.png, then basketball1.png, then basketball2.png again (the same
camera and player: in basketball1 he reaches up for the ball, his left wrist above his
shoulder; in basketball2 he holds it at his chest), as a rosbag2 of raw frames at 10 Hz. The
wrist is above the shoulder by less than the default margin (0.15 of the torso), so the
tests lower it with ``--gesture-raise-margin`` (the default finds nothing: checked too).

What the bag tool reports is checked against the reactions node's own path, run here on the
PoseArrays read back from the output bag (as the node would receive them):
``frame_from_pose_array`` and ``Reactor.step``, whose gesture events say when each tracked
person's gesture was confirmed and when it ended.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from bag_fixtures import read_topic, require_model, run_cli, stamp_ns, write_camera_bag
from posenet_ros.core import paths
from posenet_ros.imaging.files import read_image
from posenet_ros.reactions.config import GestureConfig
from posenet_ros.reactions.gestures import GESTURES, HAND_RAISED
from posenet_ros.reactions.person import frame_from_pose_array
from posenet_ros.reactions.reactor import Reactor
import pytest

pytestmark = pytest.mark.timeout(300)
MARGIN = "0.05"
SEQUENCE = ["basketball2.png"] * 5 + ["basketball1.png"] * 6 + ["basketball2.png"] * 6
POSES = "/camera/image_raw/poses"


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    require_model()
    images = {name: read_image(paths.require(paths.data_dir() / name, name))
              for name in set(SEQUENCE)}
    bag = tmp_path_factory.mktemp("gestures") / "raise"
    start = 1_700_000_000_000_000_000
    write_camera_bag(bag, [images[n] for n in SEQUENCE],
                     [start + i * 100_000_000 for i in range(len(SEQUENCE))])
    return bag


@pytest.fixture(scope="module")
def analysed(recording, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gestures_out") / "out"
    result = run_cli("bag", recording, "--topic", "/camera/image_raw", "-o", out,
                     "--gesture-raise-margin", MARGIN)
    assert result.returncode == 0, result.stderr
    assert "gestures: 1 people raised a hand, " in result.stdout
    return out


def node_gestures(out: Path, config: GestureConfig) -> dict[tuple[int, int], str]:
    """{(frame, track id): gesture} held, from the reactions node's events on the PoseArrays."""
    reactor, held, now = Reactor(gestures=config), {}, {}
    for frame, (_, msg) in enumerate(read_topic(out / "poses", POSES)):
        for event in reactor.step(frame_from_pose_array(msg)).events:
            if event.kind in GESTURES and event.track_id:
                if event.started:
                    now[event.track_id] = event.kind
                elif now.get(event.track_id) == event.kind:
                    del now[event.track_id]
        present = {int(p.track_id) for p in msg.poses}
        held.update({(frame, tid): g for tid, g in now.items() if tid in present})
    return held


def csv_gestures(out: Path) -> dict[tuple[int, int], str]:
    with (out / "gestures.csv").open() as f:
        return {(int(r["frame"]), int(r["track_id"])): r["gesture"] for r in csv.DictReader(f)}


def test_the_raised_hand_is_what_the_reactions_node_confirms(analysed):
    ours, node = csv_gestures(analysed), node_gestures(
        analysed, GestureConfig(raise_margin=float(MARGIN)))
    assert ours == node
    raised = sorted(frame for (frame, _), g in ours.items() if g == HAND_RAISED)
    first_up, back_down = SEQUENCE.index("basketball1.png"), len(SEQUENCE) - 6
    # Confirmed on basketball1's frames (after on_frames of them), ended after it.
    assert raised and first_up < raised[0] < back_down and raised[-1] >= back_down - 1
    assert raised[-1] < len(SEQUENCE) - 1
    summary = json.loads((analysed / "summary.json").read_text())
    gestures = summary["gestures"]
    assert gestures["settings"]["raise_margin"] == float(MARGIN)
    assert gestures["people"][HAND_RAISED] == gestures["people_raised_a_hand"] == 1
    [span] = [s for s in gestures["spans"] if s["gesture"] == HAND_RAISED]
    assert span["frames"] == len(raised)
    stamps = [stamp_ns(m.header) for _, m in read_topic(analysed / "poses", POSES)]
    assert (span["first_stamp_ns"], span["last_stamp_ns"]) == (stamps[raised[0]],
                                                               stamps[raised[-1]])
    assert summary["outputs"]["gestures"] == str(analysed / "gestures.csv")


def test_the_default_margin_sees_no_raised_hand_and_gestures_can_be_off(recording, tmp_path):
    default = run_cli("bag", recording, "--topic", "/camera/image_raw", "-o", tmp_path / "d")
    assert default.returncode == 0, default.stderr
    assert csv_gestures(tmp_path / "d") == node_gestures(tmp_path / "d", GestureConfig()) == {}
    for flag in ("--no-gestures", "--no-tracking"):
        out = tmp_path / flag.strip("-")
        off = run_cli("bag", recording, "--topic", "/camera/image_raw", "-o", out, flag)
        assert off.returncode == 0, off.stderr
        assert not (out / "gestures.csv").exists()
        assert json.loads((out / "summary.json").read_text())["gestures"] is None
    bad = run_cli("bag", recording, "--topic", "/camera/image_raw", "-o", tmp_path / "bad",
                  "--gesture-on-frames", "0")
    assert bad.returncode == 2 and "on_frames 0 is out of range" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_the_fleet_table_counts_who_raised_a_hand(recording, analysed, tmp_path):
    pytest.importorskip("ray", reason="the fleet extra is not installed")
    pq = pytest.importorskip("pyarrow.parquet", reason="the fleet extra is not installed")
    out = tmp_path / "fleet"
    result = run_cli("fleet", recording, "-o", out, "--workers", "1",
                     "--gesture-raise-margin", MARGIN)
    assert result.returncode == 0, result.stderr
    ours = out / "bags" / "raise"
    assert (ours / "gestures.csv").read_text() == (analysed / "gestures.csv").read_text()
    held = csv_gestures(analysed)
    frames = pq.read_table(out / "frames.parquet").to_pydict()
    table = {(f, tid): g for f, ids, names in zip(frames["frame"], frames["gesture_ids"],
                                                  frames["gestures"])
             for tid, g in zip(ids, names)}
    assert table == held
    tracks = pq.read_table(out / "tracks.parquet").to_pydict()
    raised = {tid: n for tid, n in zip(tracks["track_id"], tracks["raised_hand_frames"]) if n}
    assert raised == {tid: sum(1 for (_, t) in held if t == tid) for (_, tid) in held}
    summary = json.loads((out / "fleet_summary.json").read_text())
    [robot] = summary["robots"].values()
    assert robot["people_raised_a_hand"] == 1
