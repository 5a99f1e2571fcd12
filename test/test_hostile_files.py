"""Hostile files, made here for real: each gets one clear line, its exit status, bounded cost.

Images and videos (the CLI's and bag tool's reader, and the node's message decoder, share
posenet_ros.imaging): decompression bombs declared in BMP, JPEG and PNG headers, a progressive
JPEG of thousands of scans, FIFOs, devices, symlink loops, an empty video. Bags: MCAP chunks
inflating to gigabytes or past their declared size, names that are not UTF-8, a message record
of one byte; output folders that hold the input or links pointing out of them.

Each runs in its own process (as a user runs the CLI), measured: wall time and peak memory.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import attack_fixtures as attacks
import cv2
import hostile_mcap as mcap
import numpy as np
from posenet_ros.core.errors import ImageError
from posenet_ros.imaging.files import iter_frames, read_image
from posenet_ros.imaging.jpeg_structure import MAX_SCANS
from posenet_ros.imaging.ros_image import decode, ImageDecodeError
import pytest

BOUND_S, BOUND_MB, BOUND_LOG = 5.0, 2048, 1 << 20      # per hostile input
CHUNK_LIMIT = 256 * 1024 * 1024                          # mcap_recover.MAX_CHUNK_BYTES


def run_measured(*args: object, timeout: float = 60) -> tuple[int, str, float, float]:
    """Run ``python -m posenet_ros.cli.main ARGS``: (status, stderr, CPU seconds, peak MB).

    CPU time (user + system), not wall time: this machine is shared. A run that outlives
    ``timeout`` (wall) is killed and reported as status -9.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "posenet_ros.cli.main",
                                  *map(str, args)], stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        seconds = usage.ru_utime + usage.ru_stime
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        log = err.read().decode(errors="replace")
        assert out.seek(0, 2) + len(log) < BOUND_LOG
        return child.returncode, log, seconds, usage.ru_maxrss / 1024


@pytest.fixture(scope="module")
def start_up(tmp_path_factory) -> float:
    """CPU seconds of ``posenet-ros estimate`` on one small good image (imports, model)."""
    from posenet_ros.core import paths
    if not paths.default_model(16).is_file():
        pytest.skip("no converted model: run `make setup`")
    path = tmp_path_factory.mktemp("good") / "good.jpg"
    path.write_bytes(attacks.encode_jpeg(np.full((48, 64, 3), 99, np.uint8)))
    status, log, seconds, _ = run_measured("estimate", path, "--providers", "cpu")
    assert status == 0, log
    return seconds


def assert_bounded(seconds: float, start_up: float, peak_mb: float, log: str) -> None:
    assert seconds < start_up + BOUND_S, f"{seconds:.1f} s CPU"
    assert peak_mb < BOUND_MB, f"{peak_mb:.0f} MB"
    assert "Traceback" not in log, log


# --- images: the shared decoder -------------------------------------------------------------

def test_progressive_jpeg_with_thousands_of_scans_is_refused_before_decoding(tmp_path):
    normal = attacks.encode_jpeg(attacks.still(), progressive=True)
    path = tmp_path / "normal.jpg"
    path.write_bytes(normal)
    assert read_image(path).shape == attacks.still().shape      # about 10 scans: decoded
    bomb = attacks.progressive_scan_bomb(2000, 1920, 1080)
    path = tmp_path / "scans.jpg"
    path.write_bytes(bomb)
    start = time.monotonic()
    with pytest.raises(ImageError, match=f"more than {MAX_SCANS} scans"):
        read_image(path)
    msg = type("CompressedImage", (), {"format": "jpeg", "data": bomb})()
    with pytest.raises(ImageDecodeError, match=f"more than {MAX_SCANS} scans"):
        decode(msg)                                               # the node's and bag's path
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("name,data,message", [
    ("bomb.bmp", attacks.bmp_bomb(), "BMP header declares 30000x30000"),
    ("bomb.jpg", attacks.jpeg_bomb(20000, 20000), "JPEG header declares 20000x20000"),
    ("bomb.png", attacks.png_bomb(), "PNG 5700x5700 with 4 channel.s. of 16 bits"),
], ids=["bmp", "jpeg", "png16"])
def test_decompression_bombs_are_refused_from_their_header(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImageError, match=message):
        read_image(path)


def test_other_formats_are_read_within_the_limits(tmp_path):
    image = cv2.resize(attacks.still(), (120, 90))
    for suffix in (".bmp", ".ppm", ".webp", ".png"):
        path = tmp_path / f"ok{suffix}"
        assert cv2.imwrite(str(path), image)
        assert read_image(path).shape == (90, 120, 3), suffix
    tiff = tmp_path / "a.tiff"
    assert cv2.imwrite(str(tiff), image)
    with pytest.raises(ImageError, match="unsupported image format .* supported: JPEG"):
        read_image(tiff)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def test_special_files_say_what_they_are(tmp_path):
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop.name)
    zero = tmp_path / "zero.jpg"
    zero.symlink_to("/dev/zero")
    dangling = tmp_path / "gone.jpg"
    dangling.symlink_to(tmp_path / "nowhere.jpg")
    cases = {loop: "symlink loop", zero: "is a character device", dangling: "broken symlink",
             _fifo(tmp_path, "pipe.jpg"): "is a FIFO", tmp_path: "is a folder",
             tmp_path / "absent.jpg": "no such file"}
    for path, message in cases.items():
        with pytest.raises(ImageError, match=message):
            next(iter_frames(path))


def test_cli_refuses_fifo_video_empty_video_and_bombs_quickly(tmp_path, start_up):
    empty = tmp_path / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48)).release()
    pipe = _fifo(tmp_path, "pipe.mp4")
    bmp = tmp_path / "bomb.bmp"
    bmp.write_bytes(attacks.bmp_bomb())
    scans = tmp_path / "scans.jpg"
    scans.write_bytes(attacks.progressive_scan_bomb(2000, 1920, 1080))
    status, log, seconds, peak = run_measured("estimate", pipe, empty, bmp, scans,
                                              "--providers", "cpu", timeout=30)
    assert status == 1, log
    assert_bounded(seconds, start_up, peak, log)
    assert "pipe.mp4: is a FIFO" in log
    assert "empty.avi: the video has no readable frame" in log
    assert "BMP header declares 30000x30000" in log and "more than 100 scans" in log
    assert len([line for line in log.splitlines() if line.startswith("posenet-ros:")]) == 4


# --- bags: damaged and crafted MCAPs --------------------------------------------------------

HOSTILE_BAGS = {
    "zstd-bomb": (lambda: mcap.zstd_bomb(2 * CHUNK_LIMIT), "over the limit of"),
    "lying-zstd": (lambda: mcap.lying_chunk(CHUNK_LIMIT // 2), "inflates to more than"),
    "lying-lz4": (lambda: mcap.lying_chunk(CHUNK_LIMIT // 2, compression="lz4"),
                  "inflates to more than"),
    "compression-name": (mcap.bad_name_chunk, "compression in bytes that are not UTF-8"),
    "one-byte-message": (mcap.short_message, "message record of 1 bytes"),
}


@pytest.fixture(scope="module")
def hostile_records():
    return {name: make() for name, (make, _) in HOSTILE_BAGS.items()}


@pytest.mark.parametrize("footer", [True, False], ids=["footer", "cut"])
@pytest.mark.parametrize("name", HOSTILE_BAGS)
def test_hostile_mcap_is_damage_after_the_good_frames(tmp_path, hostile_records, name, footer):
    from posenet_ros.bag.reader import BagReadError, ImageBag
    path = mcap.write_mcap(tmp_path / f"{name}.mcap", hostile_records[name], footer)
    got = []
    with ImageBag(path) as bag:
        topic = bag.select(mcap.TOPIC)
        with pytest.raises(BagReadError, match=HOSTILE_BAGS[name][1]):
            for _, raw in bag.messages(topic):
                got.append(raw)
    assert got == [mcap.frame_cdr()]                      # the frame before the damage


def test_topic_that_is_not_utf8_is_an_unusable_bag(tmp_path):
    from posenet_ros.bag.reader import BagError, ImageBag
    path = mcap.write_mcap(tmp_path / "topic.mcap", b"", topic=b"/cam/\xff\xfe")
    with pytest.raises(BagError, match="topic or encoding is not UTF-8"):
        with ImageBag(path) as bag:
            bag.select(mcap.TOPIC)


@pytest.mark.parametrize("name", ["zstd-bomb", "compression-name", "one-byte-message"])
def test_bag_cli_exits_damaged_with_one_line_and_outputs(
        tmp_path, hostile_records, name, start_up):
    path = mcap.write_mcap(tmp_path / f"{name}.mcap", hostile_records[name])
    status, log, seconds, peak = run_measured("bag", path, "--topic", mcap.TOPIC, "-o",
                                              tmp_path / "out", "--providers", "cpu")
    assert status == 3, log
    assert_bounded(seconds, start_up, peak, log)
    assert HOSTILE_BAGS[name][1] in log
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["frames"] == 1 and HOSTILE_BAGS[name][1] in summary["fault"]


# --- bag outputs: never lose the recording, never write outside OUT ---------------------------

def test_force_never_deletes_the_input_recording(tmp_path):
    out = tmp_path / "out"
    recording = out / "poses"
    recording.mkdir(parents=True)
    bag = mcap.write_mcap(recording / "poses.mcap", b"")
    before = bag.read_bytes()
    for source, target in ((recording, out), (bag, out), (recording, recording / "sub"),
                           (recording, recording)):
        status, log, _, _ = run_measured("bag", source, "--topic", mcap.TOPIC, "-o", target,
                                         "--force", "--providers", "cpu")
        assert status == 2, log
        assert "input" in log and "Traceback" not in log
        assert bag.read_bytes() == before


def test_links_planted_in_the_output_folder_are_never_followed(tmp_path, start_up):
    bag = mcap.write_mcap(tmp_path / "in.mcap", b"")
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    names = ("summary.json", "timeline.png", "keypoints.csv", "poses")
    for name in names:
        (out / name).symlink_to(outside / name)          # dangling: the target is not there
    refused = run_measured("bag", bag, "--topic", mcap.TOPIC, "-o", out, "--providers", "cpu")
    assert refused[0] == 2 and "--force" in refused[1]
    forced = run_measured("bag", bag, "--topic", mcap.TOPIC, "-o", out, "--providers", "cpu",
                          "--force")
    assert forced[0] == 0, forced[1]
    assert list(outside.iterdir()) == []
    for name in names:
        assert not (out / name).is_symlink() and (out / name).exists(), name
    assert json.loads((out / "summary.json").read_text())["frames"] == 1


def test_summary_written_through_a_late_link_replaces_the_link(tmp_path):
    from posenet_ros.bag.summary import write_json
    target = tmp_path / "elsewhere.json"
    link = tmp_path / "summary.json"
    link.symlink_to(target)
    write_json(link, {"frames": np.int64(0).item()})
    assert not target.exists() and not link.is_symlink()
    assert json.loads(link.read_text()) == {"frames": 0}
    assert oct(link.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_message_compressed_bag_with_a_bomb_message_is_damage(tmp_path):
    """rosbag2's per-message zstd: the message declares no size, so the limit bounds it."""
    from posenet_ros.bag.reader import BagReadError, ImageBag
    from posenet_ros.bag.typestore import COMPRESSED_IMAGE, typestore
    from rosbags.rosbag2 import StoragePlugin, Writer
    path = tmp_path / "bag"
    writer = Writer(path, version=8, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    connection = writer.add_connection(mcap.TOPIC, COMPRESSED_IMAGE, typestore=typestore())
    writer.write(connection, 1, mcap.zstd.compress(mcap.frame_cdr()))
    writer.write(connection, 2, mcap.inflating(2 * CHUNK_LIMIT))     # stored as it is
    writer.close()
    metadata = path / "metadata.yaml"
    text = metadata.read_text()
    assert "compression_mode: ''" in text
    metadata.write_text(text.replace("compression_mode: ''", "compression_mode: message")
                        .replace("compression_format: ''", "compression_format: zstd"))
    got = []
    with ImageBag(path) as bag:
        with pytest.raises(BagReadError, match="inflates to more than"):
            for _, raw in bag.messages(bag.select(mcap.TOPIC)):
                got.append(raw)
    assert got == [mcap.frame_cdr()]


def test_prepare_outputs_removes_links_not_their_targets(tmp_path):
    """What analyze calls before writing: links go, targets stay, an input is never removed."""
    from posenet_ros.bag.outputs import prepare_outputs
    from posenet_ros.bag.reader import BagError
    out, keep = tmp_path / "out", tmp_path / "keep"
    keep.mkdir()
    (keep / "data.txt").write_text("user data")
    out.mkdir()
    (out / "poses").symlink_to(keep)
    (out / "summary.json").symlink_to(tmp_path / "nowhere.json")
    (out / "keypoints.csv").write_text("old")
    outputs = [out / name for name in ("poses", "summary.json", "keypoints.csv")]
    with pytest.raises(BagError, match="--force"):
        prepare_outputs(out, outputs, False, [tmp_path / "in.mcap"])
    with pytest.raises(BagError, match="would replace the input"):
        prepare_outputs(out, outputs, True, [keep])            # reached through the link
    prepare_outputs(out, outputs, True, [tmp_path / "in.mcap"])
    assert (keep / "data.txt").read_text() == "user data"
    assert sorted(os.listdir(out)) == []
