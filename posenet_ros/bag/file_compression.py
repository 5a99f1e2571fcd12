"""Bound rosbag2's whole-file compression before rosbags inflates it.

A bag recorded with ``compression_mode: file`` keeps each storage file as one zstd stream
(``<name>.mcap.zstd``, ``<name>.db3.zstd``). rosbags' ``Reader.open`` inflates every one of them
whole into a temporary directory before reading a message, with no bound: a small crafted file
(zeros compress thousands of times) fills the temporary disk first. :func:`check_file_compression`
runs the same decompression once beforehand, counting bytes and writing nothing, and refuses
the bag as soon as the total passes :func:`inflate_limit`; a bomb so costs bounded time and no
disk, a genuine bag one extra decompression pass.
"""
from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path, PurePath
import shutil
import tempfile

try:
    from compression import zstd  # Python >= 3.14
except ImportError:
    from backports import zstd  # installed with rosbags

# Camera bags compress little as a whole (JPEG about 1x, raw frames a few x, depth tens of x);
# zstd turns zeros into more than 10000x. 200x keeps every real recording and stops a bomb
# after reading a small part of it.
MAX_INFLATE_RATIO = 200
# Below this, any ratio passes: a short bag of flat frames inflates this far in a moment.
MIN_INFLATE_LIMIT = 256 * 1024 * 1024
# Left free on the temporary disk after the inflated copy: other programs need it too.
FREE_SPACE_MARGIN = 1024 * 1024 * 1024
# Explicit limit in bytes, replacing the ratio (never the free space): a genuine bag that
# compresses better than MAX_INFLATE_RATIO.
LIMIT_ENV = "POSENET_ROS_BAG_MAX_INFLATED"
_BLOCK = 1024 * 1024
# How each storage file rosbags can read begins, to name a wrong payload before rosbags writes it.
STORAGE_MAGIC = {"mcap": b"\x89MCAP0\r\n", "sqlite3": b"SQLite format 3\x00"}


class FileCompressionError(ValueError):
    """A file-compressed bag that is refused; the text names the bag, the bound and the fix."""


@dataclass(frozen=True)
class InflateLimit:
    bytes: int       # noqa: A003 - the limit in bytes
    why: str         # which bound it is, for the error line
    fix: str         # what allows a genuine bag


def is_file_compressed(info: dict) -> bool:
    """Whether ``rosbag2_bagfile_information`` says the storage files are compressed whole."""
    mode = info.get("compression_mode") if isinstance(info, dict) else None
    return isinstance(mode, str) and mode.lower() == "file"


def inflate_limit(compressed: int, tmpdir: str | None = None,
                  explicit: int | None = None) -> InflateLimit:
    """Return the most bytes rosbags may inflate ``compressed`` bytes into under ``tmpdir``.

    The smaller of: the free space there less :data:`FREE_SPACE_MARGIN`, and ``explicit``
    (else :data:`LIMIT_ENV`, else :data:`MAX_INFLATE_RATIO` times ``compressed``, at least
    :data:`MIN_INFLATE_LIMIT`). Raises FileCompressionError for a malformed :data:`LIMIT_ENV`.
    """
    tmpdir = tmpdir or tempfile.gettempdir()
    if explicit is None and os.environ.get(LIMIT_ENV, "").strip():
        try:
            explicit = int(os.environ[LIMIT_ENV])
        except ValueError:
            explicit = -1
        if explicit < 0:
            raise FileCompressionError(f"{LIMIT_ENV}={os.environ[LIMIT_ENV]!r}: give the "
                                       f"largest inflated size to allow, in bytes")
    if explicit is not None:
        cap = InflateLimit(explicit, f"{LIMIT_ENV}={explicit}",
                           f"raise {LIMIT_ENV} if the bag is genuine")
    else:
        cap = InflateLimit(max(MIN_INFLATE_LIMIT, MAX_INFLATE_RATIO * compressed),
                           f"{MAX_INFLATE_RATIO}x its {compressed} compressed bytes, at least "
                           f"{MIN_INFLATE_LIMIT}", f"set {LIMIT_ENV}=<bytes> if the bag is "
                           f"genuine")
    free = shutil.disk_usage(tmpdir).free - FREE_SPACE_MARGIN
    if free < cap.bytes:
        return InflateLimit(max(free, 0), f"the free space in {tmpdir} less "
                            f"{FREE_SPACE_MARGIN} bytes", "point TMPDIR at a larger disk")
    return cap


def check_file_compression(bag: Path, info: dict) -> int | None:
    """Refuse a file-compressed bag that would inflate past :func:`inflate_limit`.

    ``info`` is the bag's ``rosbag2_bagfile_information``. Returns the inflated size in
    bytes, or None when the bag is not file-compressed. Raises FileCompressionError naming the
    bag and the bound (or the file that is not zstd); files the metadata lists but that are
    missing are left for rosbags to report.
    """
    if not is_file_compressed(info):
        return None
    listed = info.get("relative_file_paths")
    if not isinstance(listed, list):
        return None                     # rosbags reports the malformed metadata
    files = [bag / PurePath(str(name)).name for name in listed]   # as rosbags resolves them
    if odd := [f.name for f in files if f.exists() and not f.is_file()]:
        raise FileCompressionError(f"{bag}: {', '.join(odd)} is not a regular file (a device, "
                                   f"pipe or folder): copy the recording's real files")
    files = [f for f in files if f.is_file()]
    limit = inflate_limit(sum(f.stat().st_size for f in files))
    magic = STORAGE_MAGIC.get(info.get("storage_identifier"), b"")
    total = 0
    for path in files:
        total += _inflated_size(bag, path, magic, limit, total)
    return total


def _inflated_size(bag: Path, path: Path, magic: bytes, limit: InflateLimit,
                   before: int) -> int:
    """Count what ``path`` inflates to (``before`` bytes already counted), writing nothing."""
    size = 0
    try:
        with zstd.open(path, "rb") as stream:
            while block := stream.read(_BLOCK):
                if size == 0 and not block.startswith(magic):
                    raise FileCompressionError(
                        f"{bag}: {path.name} inflates to something that is not the storage "
                        f"metadata.yaml names (it begins {block[:len(magic)]!r}, not "
                        f"{magic!r}); the metadata or the file is not this bag's")
                size += len(block)
                if before + size > limit.bytes:
                    raise FileCompressionError(
                        f"{bag}: file-compressed storage inflates past {limit.bytes} bytes "
                        f"(limit: {limit.why}): refused at {path.name}; {limit.fix}")
    except (zstd.ZstdError, EOFError) as err:
        raise FileCompressionError(
            f"{bag}: {path.name} is not a complete zstd stream ({err}), though metadata.yaml "
            f"says compression_mode: file; re-copy the file, or if it is stored "
            f"uncompressed, set compression_mode to none and list its real name") from err
    return size
