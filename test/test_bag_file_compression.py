"""rosbag2 whole-file compression (``compression_mode: file``): read if genuine, else refused.

Real bags from vtest.avi, file-compressed by rosbags' own writer (``<name>.mcap.zstd``, as
rosbag2 lays it out). The bomb is that bag with its storage replaced by 2 GB of zeros (zstd,
compressed block by block: about 64 kB); ``posenet-ros bag`` runs on it with ``TMPDIR`` in the
test's folder, watched while it runs.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
import subprocess
import sys
import threading
import time

from bag_fixtures import IMAGE_TOPIC, require_model, sample_video
from posenet_ros.bag import file_compression
from posenet_ros.bag.reader import BagError, ImageBag
import pytest

try:
    from compression import zstd  # Python >= 3.14
except ImportError:
    from backports import zstd  # installed with rosbags

FRAMES = 5
BOMB_BYTES = 2 * 1024 ** 3


@pytest.fixture(scope="module")
def bags(tmp_path_factory) -> dict[str, Path]:
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    root = tmp_path_factory.mktemp("bags")
    made = {}
    for storage in ("mcap", "sqlite3"):
        for compressed in (False, True):
            name = f"{storage}_{'file' if compressed else 'plain'}"
            write_video_bag(VideoBagJob(sample_video(), root / name, storage=storage,
                                        max_frames=FRAMES, file_compression=compressed))
            made[name] = root / name
    return made


def _storage(bag: Path) -> Path:
    [path] = [p for p in bag.iterdir() if p.name != "metadata.yaml"]
    return path


def _with_storage(bags: dict[str, Path], to: Path, payload) -> Path:
    """Copy the file-compressed MCAP bag's metadata; ``payload(file)`` writes its storage."""
    good = bags["mcap_file"]
    to.mkdir()
    (to / "metadata.yaml").write_bytes((good / "metadata.yaml").read_bytes())
    payload(to / _storage(good).name)
    return to


def _zeros(path: Path) -> None:
    """Write MCAP's magic, then zeros: past the first check, as a crafted bomb would be."""
    compressor, block = zstd.ZstdCompressor(), bytes(1024 * 1024)
    with open(path, "wb") as out:
        out.write(compressor.compress(file_compression.STORAGE_MAGIC["mcap"]))
        for _ in range(BOMB_BYTES // len(block)):
            out.write(compressor.compress(block))
        out.write(compressor.flush())


def _bag_cli(bag: Path, out: Path, tmpdir: Path, **env: str) -> tuple:
    """``posenet-ros bag`` with TMPDIR=``tmpdir``; (result, seconds, most bytes seen there)."""
    tmpdir.mkdir(exist_ok=True)
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            size = sum(f.stat().st_size for f in tmpdir.rglob("*") if f.is_file())
            peak[0] = max(peak[0], size)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "posenet_ros.cli.main", "bag", str(bag), "--topic",
             IMAGE_TOPIC, "-o", str(out), "--providers", "cpu"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "TMPDIR": str(tmpdir), **env})
    finally:
        done.set()
        watcher.join()
    return result, time.monotonic() - start, peak[0]


def test_writer_lays_out_file_compression_as_rosbag2(bags):
    for storage in ("mcap", "sqlite3"):
        bag = bags[f"{storage}_file"]
        info = ImageBag(bag)
        suffix = "db3" if storage == "sqlite3" else storage
        assert _storage(bag).name == f"{bag.name}.{suffix}.zstd"
        text = (bag / "metadata.yaml").read_text()
        assert "compression_mode: file" in text and "compression_format: zstd" in text
        with info:
            assert {t.name: t.count for t in info.topics}[IMAGE_TOPIC] == FRAMES


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_file_compressed_bag_reads_the_same_messages_as_plain(bags, storage):
    got = {}
    for kind in ("plain", "file"):
        with ImageBag(bags[f"{storage}_{kind}"]) as bag:
            topic = bag.select(IMAGE_TOPIC)
            got[kind] = list(bag.messages(topic))
    assert len(got["plain"]) == FRAMES and got["file"] == got["plain"]
    inflated = file_compression.check_file_compression(
        bags[f"{storage}_file"], _info(bags[f"{storage}_file"]))
    assert inflated == len(zstd.decompress(_storage(bags[f"{storage}_file"]).read_bytes()))


def test_file_compressed_bag_gives_the_keypoints_of_the_plain_bag(bags, tmp_path):
    require_model()
    csvs, peaks = {}, {}
    for kind in ("plain", "file"):
        result, _, peaks[kind] = _bag_cli(bags[f"mcap_{kind}"], tmp_path / kind,
                                          tmp_path / f"t{kind}")
        assert result.returncode == 0, result.stderr
        with open(tmp_path / kind / "keypoints.csv", newline="") as f:
            csvs[kind] = list(csv.reader(f))
        summary = json.loads((tmp_path / kind / "summary.json").read_text())
        assert summary["frames"] == FRAMES
    assert len(csvs["plain"]) > 1 and csvs["file"] == csvs["plain"]
    # rosbags' inflated copy goes to TMPDIR (the bound's free space is measured there), and
    # the watcher sees it: what the bomb test relies on.
    assert peaks["file"] >= _storage(bags["mcap_plain"]).stat().st_size > 1024 ** 2
    assert peaks["plain"] < 1024 ** 2
    assert not list((tmp_path / "tfile").rglob("*.mcap"))


def test_a_zstd_bomb_is_refused_in_seconds_writing_nothing(bags, tmp_path):
    bomb = _with_storage(bags, tmp_path / "bomb", _zeros)
    assert bomb.stat().st_size < 1024 ** 2 < BOMB_BYTES
    result, seconds, peak = _bag_cli(bomb, tmp_path / "out", tmp_path / "tmp")
    assert peak < 1024 ** 2, f"{peak} bytes written to TMPDIR"
    assert seconds < 60 and not (tmp_path / "out").exists()
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("posenet-ros")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"posenet-ros bag: {bomb}: file-compressed storage inflates "
                               f"past {file_compression.MIN_INFLATE_LIMIT} bytes (limit: "
                               f"{file_compression.MAX_INFLATE_RATIO}x its "), lines[0]
    assert lines[0].endswith(f": refused at {_storage(bomb).name}; set "
                             f"{file_compression.LIMIT_ENV}=<bytes> if the bag is genuine")


def test_an_explicit_limit_replaces_the_ratio(bags, tmp_path, monkeypatch):
    bag = bags["mcap_file"]
    plain = len(zstd.decompress(_storage(bag).read_bytes()))     # its inflated size
    monkeypatch.setenv(file_compression.LIMIT_ENV, str(plain - 1))
    with pytest.raises(BagError, match=f"inflates past {plain - 1} bytes \\(limit: "
                                       f"{file_compression.LIMIT_ENV}={plain - 1}\\): "
                                       f"refused at mcap_file.mcap.zstd; raise "):
        ImageBag(bag).open()
    monkeypatch.setenv(file_compression.LIMIT_ENV, str(plain))
    with ImageBag(bag) as opened:
        assert opened.select(IMAGE_TOPIC).count == FRAMES
    monkeypatch.setenv(file_compression.LIMIT_ENV, "2GB")
    with pytest.raises(BagError, match=f"{file_compression.LIMIT_ENV}='2GB': give the"):
        ImageBag(bag).open()


def test_the_limit_never_exceeds_the_free_temporary_space(tmp_path):
    free = file_compression.shutil.disk_usage(tmp_path).free
    for explicit in (None, 10 * free):
        limit = file_compression.inflate_limit(free, str(tmp_path), explicit)
        assert limit.bytes <= free - file_compression.FREE_SPACE_MARGIN
        assert f"free space in {tmp_path}" in limit.why and "TMPDIR" in limit.fix
    small = file_compression.inflate_limit(1000, str(tmp_path))
    assert small.bytes == min(file_compression.MIN_INFLATE_LIMIT,
                              free - file_compression.FREE_SPACE_MARGIN)


def test_a_payload_that_is_not_zstd_is_a_clear_error(bags, tmp_path):
    plain = _storage(bags["mcap_plain"]).read_bytes()
    raw = _with_storage(bags, tmp_path / "raw", lambda p: p.write_bytes(plain))
    result, _, _ = _bag_cli(raw, tmp_path / "out", tmp_path / "tmp")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{raw}: {_storage(raw).name} is not a complete zstd stream" \
           in result.stderr and "compression_mode" in result.stderr
    fifo = _with_storage(bags, tmp_path / "fifo", os.mkfifo)   # rosbags would wait on it
    with pytest.raises(BagError, match=f"{_storage(fifo).name} is not a regular file"):
        ImageBag(fifo).open()
    packed = _storage(bags["mcap_file"]).read_bytes()
    cut = _with_storage(bags, tmp_path / "cut",
                        lambda p: p.write_bytes(packed[:len(packed) // 2]))
    with pytest.raises(BagError, match="is not a complete zstd stream"):
        ImageBag(cut).open()


def test_zstd_of_something_else_names_the_storage_mismatch(bags, tmp_path):
    other = _with_storage(bags, tmp_path / "other",
                          lambda p: p.write_bytes(zstd.compress(os.urandom(4096))))
    with pytest.raises(BagError, match="inflates to something that is not the storage "
                                       "metadata.yaml names"):
        ImageBag(other).open()
    # The right magic, then junk: rosbags' own error, as one line naming the bag.
    junk = _with_storage(bags, tmp_path / "junk", lambda p: p.write_bytes(
        zstd.compress(file_compression.STORAGE_MAGIC["mcap"] + os.urandom(4096))))
    with pytest.raises(BagError, match=f"cannot read bag {junk}: ") as err:
        ImageBag(junk).open()
    assert "\n" not in str(err.value)


def _info(bag: Path) -> dict:
    from ruamel.yaml import YAML
    return YAML(typ="safe").load((bag / "metadata.yaml").read_text())[
        "rosbag2_bagfile_information"]


def test_fleet_fails_the_bomb_with_the_reason_and_finishes_the_rest(bags, tmp_path):
    pytest.importorskip("ray", reason="the fleet extra is not installed")
    require_model()
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = inputs / "good"
    good.mkdir()
    for path in bags["mcap_file"].iterdir():
        (good / path.name).write_bytes(path.read_bytes())
    _with_storage(bags, inputs / "bomb", _zeros)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "posenet_ros.cli.main", "fleet", str(inputs), "-o", str(out),
         "--topic", "camera/image_raw", "--workers", "1"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    summary = json.loads((out / "fleet_summary.json").read_text())
    assert summary["done"] == 1 and summary["failed"] == 1, summary
    [failure] = summary["failures"]
    assert failure["name"] == "bomb" and failure["status"] == "failed"
    assert "file-compressed storage inflates past" in failure["reason"], failure
    assert f"bomb ({inputs / 'bomb'}) failed: " in result.stderr
    assert not (out / "bags" / "bomb").exists()
    with ImageBag(bags["mcap_plain"]) as plain:
        frames = plain.select(IMAGE_TOPIC).count
    record = json.loads((out / "bags" / "good" / "fleet.json").read_text())
    assert record["status"] == "done" and record["frames"] == frames == FRAMES
