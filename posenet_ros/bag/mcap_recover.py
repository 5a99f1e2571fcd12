"""Read what a damaged MCAP file still holds.

Damaged means: a recording killed before it wrote its summary, a disk that filled up, a copy
cut short.

``rosbags`` needs the MCAP footer and summary, so it refuses such files outright. This scanner
walks the records from the start instead (MCAP is designed to allow that), decompressing chunks
as it goes (also the readable part of a chunk cut in the middle), and stops where the bytes stop.
``end`` then says whether data was lost.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
import struct
from zlib import crc32

import lz4.frame

try:
    from compression import zstd  # Python >= 3.14
except ImportError:
    from backports import zstd  # installed with rosbags

MAGIC = b"\x89MCAP0\r\n"
OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK = 0x02, 0x03, 0x04, 0x05, 0x06
OP_DATA_END = 0x0F
_U16, _U32, _U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")


class McapRecoveryError(ValueError):
    """The file is not an MCAP file at all (bad magic or header)."""


@dataclass(frozen=True)
class RecoveredChannel:
    id: int  # noqa: A003 - the MCAP field's name
    topic: str
    msgtype: str
    encoding: str


class McapScan:
    """Sequential reader for one MCAP file that may lack its end.

    Call :meth:`scan` once for channels and per-channel counts, then :meth:`messages`.
    ``end`` is None when the data section was read to its end (footer or DataEnd record seen),
    else a sentence saying where and why reading stopped.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.channels: dict[int, RecoveredChannel] = {}
        self.counts: Counter[int] = Counter()
        self.end: str | None = None
        self._schemas: dict[int, str] = {}

    def scan(self) -> None:
        """Collect channels and message counts (a full pass over the readable records)."""
        self.counts.clear()
        for op, body in self._records():
            if op == OP_MESSAGE:
                self.counts[_U16.unpack_from(body)[0]] += 1

    def messages(self, channel_ids: set[int]) -> Iterator[tuple[RecoveredChannel, int, bytes]]:
        """(channel, log time ns, CDR bytes) in file order for the given channels."""
        for op, body in self._records():
            if op == OP_MESSAGE:
                channel_id = _U16.unpack_from(body)[0]
                if channel_id in channel_ids and channel_id in self.channels:
                    yield self.channels[channel_id], _U64.unpack_from(body, 6)[0], body[22:]

    def _records(self) -> Iterator[tuple[int, bytes]]:
        """Top-level and in-chunk records (chunks flattened), keeping schemas/channels current."""
        self.end = None
        size = self.path.stat().st_size
        with self.path.open("rb") as f:
            if f.read(8) != MAGIC:
                raise McapRecoveryError(f"{self.path} is not an MCAP file (bad magic bytes)")
            while True:
                pos = f.tell()
                head = f.read(9)
                if len(head) < 9:
                    self.end = (f"file ends at byte {size} without an MCAP footer" if not head
                                else f"file is cut inside a record header at byte {pos}")
                    return
                op, length = head[0], _U64.unpack_from(head, 1)[0]
                body = f.read(min(length, size - pos - 9))
                if op in (OP_FOOTER, OP_DATA_END):
                    return
                complete = len(body) == length
                if op == OP_CHUNK:
                    records = self._chunk(body, pos, complete)
                else:
                    records = [(op, body)] if complete else []
                for record in records:
                    self._track(*record)
                    yield record
                if not complete:
                    self.end = (f"file is cut at byte {size}, inside a record of {length} bytes "
                                f"starting at byte {pos}")
                    return
                if self.end:  # a chunk failed its checksum
                    return

    def _chunk(self, body: bytes, pos: int, complete: bool) -> list[tuple[int, bytes]]:
        """Return the records inside a chunk; for a cut chunk, those in its readable part."""
        try:
            uncompressed_size, crc = _U64.unpack_from(body, 16)[0], _U32.unpack_from(body, 24)[0]
            name_len = _U32.unpack_from(body, 28)[0]
            compression = body[32:32 + name_len].decode()
            start = 32 + name_len + 8
            if len(body) < start:
                return []
            payload = body[start:start + _U64.unpack_from(body, start - 8)[0]]
        except struct.error:
            return []
        try:
            if compression == "":
                data = payload
            elif compression == "zstd":  # streaming decompressors also return a cut frame's start
                data = zstd.ZstdDecompressor().decompress(payload)
            elif compression == "lz4":
                data = lz4.frame.LZ4FrameDecompressor().decompress(payload)
            else:
                self.end = f"chunk at byte {pos} uses unsupported compression {compression!r}"
                return []
        except (zstd.ZstdError, RuntimeError) as err:
            self.end = f"chunk at byte {pos} cannot be decompressed ({compression}: {err})"
            return []
        if complete and crc and (len(data) != uncompressed_size or crc32(data) != crc):
            self.end = f"chunk at byte {pos} fails its checksum (corrupt data)"
            return []
        return list(_split_records(data))

    def _track(self, op: int, body: bytes) -> None:
        if op == OP_SCHEMA:
            schema_id, name = _U16.unpack_from(body)[0], _string(body, 2)[0]
            self._schemas[schema_id] = name
        elif op == OP_CHANNEL:
            channel_id, schema_id = _U16.unpack_from(body)[0], _U16.unpack_from(body, 2)[0]
            topic, offset = _string(body, 4)
            encoding = _string(body, offset)[0]
            self.channels[channel_id] = RecoveredChannel(
                channel_id, topic, self._schemas.get(schema_id, ""), encoding)


def _split_records(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield the complete records in ``data``; a record cut at the end is dropped."""
    offset = 0
    while offset + 9 <= len(data):
        op, length = data[offset], _U64.unpack_from(data, offset + 1)[0]
        end = offset + 9 + length
        if end > len(data):
            return
        yield op, data[offset + 9:end]
        offset = end


def _string(body: bytes, offset: int) -> tuple[str, int]:
    length = _U32.unpack_from(body, offset)[0]
    return body[offset + 4:offset + 4 + length].decode(), offset + 4 + length
