"""Helpers for the bag tests: real bags made from vtest.avi, read back with rosbags."""
from __future__ import annotations

from itertools import islice
from pathlib import Path
import subprocess
import sys

import numpy as np
from posenet_ros.core import paths
from posenet_ros.core.keypoints import NUM_KEYPOINTS
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import get_typestore, Stores

N_FRAMES = 40          # 4 s of vtest.avi at its 10 frames/s
IMAGE_TOPIC = "/camera/image_raw"
CAMERA_INFO_TOPIC = "/camera/camera_info"
DEPTH_TOPIC = "/camera/depth/image_rect_raw"


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
    from posenet_ros.imaging.files import iter_video
    return list(islice(iter_video(sample_video()), n))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``posenet-ros ARGS`` as a user runs it (own process, not a terminal)."""
    return subprocess.run([sys.executable, "-m", "posenet_ros.cli.main", *map(str, args)],
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


def write_camera_bag(path: Path, frames: list[np.ndarray], stamps_ns: list[int], *,
                     log_times_ns: list[int] | None = None, k: np.ndarray | None = None,
                     depth: list | None = None, depth_lag_ns: int = 0,
                     info_lag_ns: int = 0, depth_topic: str = DEPTH_TOPIC) -> None:
    """Write real colour frames (rgb8 Image), optionally a CameraInfo with ``k`` and depth.

    ``depth[i]`` is None (no depth message for frame i) or ``(encoding, metres)``, encoded
    here as REP 118 says (16UC1 little-endian millimetres, 0 = none; 32FC1 metres); any
    other encoding name is written with 16UC1 bytes (what a misconfigured driver sends).
    Depth is logged ``depth_lag_ns`` after its colour frame, with its stamp, the CameraInfo
    ``info_lag_ns`` after (negative: before). Messages are
    written in receive-time order, as a recorder does.
    """
    from posenet_ros.bag.from_video import camera_info_fields
    from posenet_ros.bag.typestore import CAMERA_INFO, IMAGE, typestore
    from rosbags.rosbag2 import StoragePlugin, Writer
    store = typestore()
    t = store.types
    log_times_ns = log_times_ns or stamps_ns
    records = []
    for i, (rgb, stamp, log_time) in enumerate(zip(frames, stamps_ns, log_times_ns)):
        header = t["std_msgs/msg/Header"](
            stamp=t["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9),
            frame_id="camera_optical_frame")
        height, width = rgb.shape[:2]
        records.append((log_time, 0, IMAGE, t[IMAGE](
            header=header, height=height, width=width, encoding="rgb8", is_bigendian=0,
            step=width * 3, data=np.ascontiguousarray(rgb).ravel())))
        if k is not None:
            info = camera_info_fields(width, height)
            p = np.zeros((3, 4))
            p[:, :3] = k
            info.update(k=np.asarray(k, float).ravel(), p=p.ravel())
            roi = t["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0,
                                                        width=0, do_rectify=False)
            records.append((log_time + info_lag_ns, 1, CAMERA_INFO,
                            t[CAMERA_INFO](header=header, roi=roi, **info)))
        if depth is not None and depth[i] is not None:
            encoding, metres = depth[i]
            if encoding == "32FC1":
                pixels = metres.astype("<f4")
            else:
                pixels = np.rint(np.nan_to_num(metres * 1000.0)).astype("<u2")
            h, w = pixels.shape
            records.append((log_time + depth_lag_ns, 2, IMAGE, t[IMAGE](
                header=header, height=h, width=w, encoding=encoding, is_bigendian=0,
                step=w * pixels.itemsize, data=pixels.view(np.uint8).ravel())))
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        kinds = {r[1] for r in records}   # only topics that have messages
        conns = {which: writer.add_connection(topic, msgtype, typestore=store)
                 for which, topic, msgtype in ((0, IMAGE_TOPIC, IMAGE),
                                               (1, CAMERA_INFO_TOPIC, CAMERA_INFO),
                                               (2, depth_topic, IMAGE)) if which in kinds}
        for log_time, which, msgtype, msg in sorted(records, key=lambda r: (r[0], r[1])):
            writer.write(conns[which], log_time, store.serialize_cdr(msg, msgtype))
