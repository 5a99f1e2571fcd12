"""Damaged MCAP bags and message definitions: the bag tools' parts that need no model or video.

Damaged: no summary, cut mid-chunk (plain and zstd), no metadata.yaml.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import struct
import subprocess
import sys

import numpy as np
from posenet_ros.bag import typestore as typestore_mod
from posenet_ros.bag.mcap_recover import McapScan
from posenet_ros.bag.reader import BagError, BagReadError, ImageBag
from posenet_ros.bag.typestore import COMPRESSED_IMAGE, POSE_ARRAY, typestore
import pytest
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

TOPIC = "/cam/image/compressed"
COUNT = 100


def write_bag(path: Path, zstd: bool = False) -> list[bytes]:
    """Write COUNT CompressedImage messages of 5 kB noise; return their CDR bytes in order.

    Noise does not compress, so a cut at x% of the bytes lands in the data, not the summary.
    """
    store = typestore()
    t = store.types
    rng = np.random.default_rng(0)
    raws = []
    writer = Writer(path, version=8, storage_plugin=StoragePlugin.MCAP)
    if zstd:
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    writer.open()
    try:
        conn = writer.add_connection(TOPIC, COMPRESSED_IMAGE, typestore=store)
        for i in range(COUNT):
            header = t["std_msgs/msg/Header"](
                stamp=t["builtin_interfaces/msg/Time"](sec=i, nanosec=0), frame_id="cam")
            msg = t[COMPRESSED_IMAGE](header=header, format="jpeg",
                                      data=rng.integers(0, 256, 5000, dtype=np.uint8))
            raw = bytes(store.serialize_cdr(msg, COMPRESSED_IMAGE))
            writer.write(conn, 1_000 + i, raw)
            raws.append(raw)
    finally:
        writer.close()
    return raws


def cut(path: Path, fraction: float | None = None, at: int | None = None) -> Path:
    mcap = path / f"{path.name}.mcap"
    data = mcap.read_bytes()
    mcap.write_bytes(data[:at if at is not None else int(len(data) * fraction)])
    return mcap


def read_all(bag: Path) -> tuple[list[bytes], ImageBag]:
    got = []
    with ImageBag(bag) as image_bag:
        topic = image_bag.select(TOPIC)
        try:
            for _, raw in image_bag.messages(topic):
                got.append(bytes(raw))
        except BagReadError as err:
            image_bag.error = err
        else:
            image_bag.error = None
    return got, image_bag


@pytest.mark.parametrize("zstd", [False, True], ids=["plain", "zstd"])
def test_cut_mid_chunk_recovers_the_readable_prefix(tmp_path, zstd):
    raws = write_bag(tmp_path / "bag", zstd=zstd)
    cut(tmp_path / "bag", 0.5)
    got, bag = read_all(tmp_path / "bag")
    # All 100 messages sit in one 500 kB chunk: the first half of it is still readable.
    assert 40 <= len(got) < COUNT and got == raws[:len(got)]
    assert bag.recovered and "reading its records sequentially" in bag.recovered
    assert isinstance(bag.error, BagReadError) and "truncated or corrupt" in str(bag.error)
    assert f"read {len(got)} messages" in str(bag.error)


def test_lost_summary_with_intact_data_reads_everything(tmp_path):
    """A recorder killed while writing the summary: every message is there, no error."""
    raws = write_bag(tmp_path / "bag")
    mcap = tmp_path / "bag" / "bag.mcap"
    summary_start = struct.unpack_from("<Q", mcap.read_bytes(), mcap.stat().st_size - 37 + 9)[0]
    cut(tmp_path / "bag", at=summary_start + 20)
    (tmp_path / "bag" / "metadata.yaml").unlink()          # never written either
    got, bag = read_all(tmp_path / "bag")
    assert got == raws and bag.error is None
    assert "all data records are intact" in bag.recovered


def test_bare_mcap_file_and_intact_bag(tmp_path):
    raws = write_bag(tmp_path / "bag")
    for path in (tmp_path / "bag", tmp_path / "bag" / "bag.mcap"):
        got, bag = read_all(path)
        assert got == raws and bag.recovered is None and bag.error is None


def test_garbage_is_not_recovered(tmp_path):
    write_bag(tmp_path / "bag")
    (tmp_path / "bag" / "bag.mcap").write_bytes(b"\x89MCAX" + os.urandom(1000))
    with pytest.raises(BagError, match="not an MCAP file"):
        ImageBag(tmp_path / "bag").open()
    scan = McapScan(tmp_path / "bag" / "bag.mcap")
    with pytest.raises(ValueError, match="bad magic"):
        scan.scan()


def test_message_definitions_found_in_the_ament_prefix(tmp_path, monkeypatch):
    share = tmp_path / "prefix" / "share" / "posenet_ros" / "msg"
    share.mkdir(parents=True)
    source = typestore_mod.find_msg_dir()      # the checkout's msg/ or an installed share/
    for name in typestore_mod.MESSAGES:
        shutil.copy(source / f"{name}.msg", share)
    monkeypatch.setattr(typestore_mod, "SOURCE_ROOT", tmp_path / "not-a-checkout")
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"{tmp_path / 'other'}:{tmp_path / 'prefix'}")
    assert typestore_mod.find_msg_dir() == share
    store = typestore_mod.typestore.__wrapped__(share)
    assert store.hash_rihs01(POSE_ARRAY) == typestore().hash_rihs01(POSE_ARRAY)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "other"))
    with pytest.raises(typestore_mod.MessageDefinitionsNotFound, match="not-a-checkout"):
        typestore_mod.find_msg_dir()


def test_type_hash_equals_rosidl(request):
    """The PoseArray hash in our bags is the one rosidl computes in a colcon build."""
    prefixes = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    prefixes.append(typestore_mod.SOURCE_ROOT / "install" / "posenet_ros")
    found = [p / "share/posenet_ros/msg/PoseArray.json" for p in prefixes
             if (p / "share/posenet_ros/msg/PoseArray.json").is_file()]
    if not found:
        pytest.skip("no colcon build of posenet_ros found (run `make build`)")
    rosidl = {h["type_name"]: h["hash_string"]
              for h in json.loads(found[0].read_text())["type_hashes"]}
    store = typestore()
    for name in ("posenet_ros/msg/PoseArray", "posenet_ros/msg/Pose", "posenet_ros/msg/Keypoint",
                 "std_msgs/msg/Header"):
        assert store.hash_rihs01(name) == rosidl[name]


def test_bag_tools_import_without_ros():
    """Offline analysis needs no ROS: every bag module imports with rclpy and ROS messages gone."""
    code = ("import sys\n"
            "for name in ('rclpy', 'sensor_msgs', 'std_msgs', 'visualization_msgs', "
            "'builtin_interfaces', 'rosidl_runtime_py', 'posenet_ros.msg', 'posenet_ros.ros'):\n"
            "    sys.modules[name] = None\n"
            "import pkgutil, importlib, posenet_ros.bag as bag\n"
            "for m in pkgutil.iter_modules(bag.__path__):\n"
            "    importlib.import_module('posenet_ros.bag.' + m.name)\n"
            "from posenet_ros.bag.typestore import typestore\n"
            "typestore()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=typestore_mod.SOURCE_ROOT)
    assert done.returncode == 0, done.stderr
