"""Helpers for the bag tests: real bags made from vtest.avi, read back with rosbags."""
from __future__ import annotations

from itertools import islice
from pathlib import Path
import subprocess
import sys

import numpy as np
from posenet_ros import paths
from posenet_ros.keypoints import NUM_KEYPOINTS
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import get_typestore, Stores

N_FRAMES = 40          # 4 s of vtest.avi at its 10 frames/s
IMAGE_TOPIC = "/camera/image_raw"


def sample_video() -> Path:
    video = paths.sample_video()
    if not video.is_file():
        pytest.skip(f"sample video missing at {video}: run `make setup`")
    return video


def require_model() -> None:
    if not paths.default_model(16).is_file():
        pytest.skip(f"no converted model at {paths.default_model(16)}: run `make setup`")


def video_frames(n: int = N_FRAMES) -> list[np.ndarray]:
    """Read the first ``n`` frames of vtest.avi as RGB, independently of the bag tools."""
    from posenet_ros.imageio import iter_video
    return list(islice(iter_video(sample_video()), n))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``posenet-ros ARGS`` as a user runs it (own process, not a terminal)."""
    return subprocess.run([sys.executable, "-m", "posenet_ros.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def read_topic(bag: Path, topic: str, skip=()) -> list[tuple[int, object]]:
    """Return (log time, message) on ``topic`` (message None for indices in ``skip``).

    Messages are deserialised from the definitions stored in the bag (an empty typestore:
    nothing of posenet_ros or ROS is needed to read it).
    """
    with AnyReader([bag], default_typestore=get_typestore(Stores.EMPTY)) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        assert connections, f"{topic} not in {bag}: {[c.topic for c in reader.connections]}"
        return [(log_time, None if i in skip else reader.deserialize(raw, conn.msgtype))
                for i, (conn, log_time, raw) in
                enumerate(reader.messages(connections=connections))]


def stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def assert_same_poses(msg, poses, width: int, height: int) -> None:
    """Check that a PoseArray message holds exactly ``poses`` (float32 on the wire)."""
    assert (msg.image_width, msg.image_height) == (width, height)
    assert len(msg.poses) == len(poses)
    for got, want in zip(msg.poses, poses):
        assert got.score == pytest.approx(want.score, abs=1e-5)
        assert [k.part_id for k in got.keypoints] == list(range(NUM_KEYPOINTS))
        xy = np.array([(k.x, k.y) for k in got.keypoints])
        np.testing.assert_allclose(xy, want.positions, atol=1e-3)
        np.testing.assert_allclose([k.score for k in got.keypoints], want.keypoint_scores,
                                   atol=1e-5)
