"""Opening an input bag and streaming one camera topic out of it, with clear errors.

Everything ``rosbags`` (or sqlite, or the file system) can raise is caught here, at the reader
boundary, and turned into a :class:`BagError` (the bag cannot be used) or a :class:`BagReadError`
(reading stopped part-way; every message before it was delivered). MCAP files without a valid
end, which rosbags refuses, are read sequentially by :mod:`posenet_ros.bag.mcap_recover`.
Chunks are inflated only up to their declared size, within ``MAX_CHUNK_BYTES``, on both paths.
Whole-file (``compression_mode: file``) storage is checked against a bound before rosbags
inflates it (:mod:`posenet_ros.bag.file_compression`).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import logging
from pathlib import Path

from posenet_ros.bag.file_compression import check_file_compression, FileCompressionError
from posenet_ros.bag.mcap_recover import (
    bound_rosbags_decompression, McapRecoveryError, McapScan)
from posenet_ros.bag.typestore import COMPRESSED_IMAGE, IMAGE
from rosbags.rosbag2 import Reader
from ruamel.yaml import YAML

log = logging.getLogger(__name__)
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
bound_rosbags_decompression()


class BagError(Exception):
    """The bag or topic cannot be used; the message says why and what is available."""


class BagReadError(BagError):
    """Reading stopped part-way (truncated or corrupt bag); messages before it were delivered."""


@dataclass(frozen=True)
class TopicInfo:
    name: str
    msgtype: str
    count: int                  # messages readable
    listed: int | None = None   # what metadata.yaml says, when the bag is damaged

    def __str__(self) -> str:
        return f"{self.name} ({self.msgtype}, {self.count} messages)"


class ImageBag:
    """A rosbag2 (directory, ``.mcap`` or ``.db3``) opened for reading one image topic.

    ``recovered`` is None for an intact bag, else the warning that it is being read
    sequentially because its MCAP end is missing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.recovered: str | None = None
        self._reader: Reader | None = None
        self._scans: list[McapScan] = []
        self._unreadable: list[str] = []     # files of a split bag that are not MCAP at all
        self._listed: dict[str, int] = {}

    def __enter__(self) -> ImageBag:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:  # noqa: A003 - file-like API
        if not self.path.exists():
            raise BagError(f"input bag {self.path} does not exist")
        if self.path.is_dir():          # before rosbags inflates file-compressed storage
            try:
                check_file_compression(self.path, _metadata(self.path / "metadata.yaml"))
            except (FileCompressionError, OSError) as err:
                raise BagError(str(err) if isinstance(err, FileCompressionError)
                               else f"cannot read bag {self.path}: {_describe(err)}") from err
        try:
            reader = Reader(self.path)
            reader.open()
        except Exception as err:  # noqa: BLE001 - reader boundary: rosbags, sqlite, OS errors
            mcaps = self._mcap_files()
            if not mcaps:
                raise BagError(f"cannot read bag {self.path}: {_describe(err)}") from err
            self._recover(mcaps, err)
            return
        self._reader = reader

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader.is_open:
            reader.close()

    @property
    def topics(self) -> list[TopicInfo]:
        if self._reader is not None:
            return sorted((TopicInfo(name, info.msgtype or "(mixed types)", info.msgcount)
                           for name, info in self._reader.topics.items()), key=lambda t: t.name)
        found: dict[tuple[str, str], int] = {}
        for scan in self._scans:
            for cid, channel in scan.channels.items():
                key = (channel.topic, channel.msgtype)
                found[key] = found.get(key, 0) + scan.counts[cid]
        return sorted((TopicInfo(t, m, n, self._listed.get(t)) for (t, m), n in found.items()),
                      key=lambda t: t.name)

    def select(self, topic: str) -> TopicInfo:
        """Find the image topic ``topic`` (leading slash optional).

        Raises BagError, listing the bag's topics, when it is absent or not an image topic.
        """
        wanted = "/" + topic.lstrip("/")
        topics = self.topics
        matches = [t for t in topics if "/" + t.name.lstrip("/") == wanted]
        listing = "; ".join(str(t) for t in topics) or "none"
        if not matches:
            damage = "; ".join([f"{s.path.name}: {s.end}" for s in self._scans if s.end]
                               + self._unreadable)
            raise BagError(
                f"topic {topic!r} is not in bag {self.path}. Topics in the bag: {listing}"
                + (f" (read up to the damage: {damage})" if damage else ""))
        if len(matches) > 1 or matches[0].msgtype not in IMAGE_TYPES:
            images = "; ".join(str(t) for t in topics if t.msgtype in IMAGE_TYPES) or "none"
            types = ", ".join(sorted({m.msgtype for m in matches}))
            raise BagError(f"topic {matches[0].name!r} carries {types}, not "
                           f"{' or '.join(IMAGE_TYPES)}. Image topics in the bag: {images}")
        return matches[0]

    def messages(self, topic: TopicInfo) -> Iterator[tuple[int, bytes]]:
        """(receive time ns, CDR bytes) of every message on ``topic``, in bag order.

        Raises BagReadError where reading stops early, after yielding all messages before it.
        """
        delivered = 0
        try:
            if self._reader is not None:
                connections = [c for c in self._reader.connections if c.topic == topic.name]
                for _, log_time, data in self._reader.messages(connections=connections):
                    delivered += 1
                    yield log_time, data
                return
            for scan in self._scans:
                ids = {cid for cid, c in scan.channels.items() if c.topic == topic.name}
                for _, log_time, data in scan.messages(ids):
                    delivered += 1
                    yield log_time, data
        except Exception as err:  # noqa: BLE001 - reader boundary
            raise BagReadError(f"reading {self.path} failed after {delivered} of {topic.count} "
                               f"messages on {topic.name}: {_describe(err)}") from err
        lost = [f"{scan.path.name}: {scan.end}" for scan in self._scans if scan.end]
        lost += self._unreadable
        if lost:
            raise BagReadError(f"bag {self.path} is truncated or corrupt ({'; '.join(lost)}); "
                               f"read {delivered} messages on {topic.name} before the damage")

    def _mcap_files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path] if self.path.suffix == ".mcap" else []
        info = _metadata(self.path / "metadata.yaml")
        try:
            listed = [Path(p).name for p in info["relative_file_paths"]]
            self._listed = {t["topic_metadata"]["name"]: int(t["message_count"])
                            for t in info["topics_with_message_count"]}
        except (KeyError, TypeError, ValueError):
            listed = []
        files = ([self.path / name for name in listed] if listed
                 else sorted(self.path.glob("*.mcap")))
        return [f for f in files if f.suffix == ".mcap" and f.is_file()]

    def _recover(self, files: list[Path], err: Exception) -> None:
        """Scan each MCAP file; one that is not MCAP at all is damage, unless all are."""
        scans, problems = [], []
        for path in files:
            scan = McapScan(path)
            try:
                scan.scan()
            except (McapRecoveryError, OSError) as recovery_err:
                problems.append(f"{path.name}: {_describe(recovery_err)}")
                continue
            scans.append(scan)
        if not scans:
            raise BagError(f"cannot read bag {self.path}: {_describe(err)} "
                           f"({'; '.join(problems)})") from err
        self._scans, self._unreadable = scans, problems
        damage = "; ".join([f"{s.path.name}: {s.end}" for s in scans if s.end] + problems)
        self.recovered = (f"bag {self.path} has no valid MCAP summary ({_describe(err)}); "
                          f"reading its records sequentially"
                          + (f" up to the damage ({damage})" if damage
                             else " (all data records are intact)"))
        log.warning("bag %s has no valid MCAP summary (%s): reading its records sequentially",
                    self.path, _describe(err))


def _metadata(path: Path) -> dict:
    """``rosbag2_bagfile_information`` of a metadata.yaml; empty when missing or unreadable."""
    try:
        info = YAML(typ="safe").load(path.read_text())["rosbag2_bagfile_information"]
    except Exception:  # noqa: BLE001 - a damaged bag's metadata is optional here
        log.debug("no usable metadata in %s", path, exc_info=True)
        return {}
    return info if isinstance(info, dict) else {}


def _describe(err: BaseException) -> str:
    """One short line: a library's message may be long or hold several lines."""
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else type(err).__name__
    return (text if len(text) <= 300 else text[:300] + "...").rstrip(".")
