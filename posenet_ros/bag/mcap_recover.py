"""Read what a damaged MCAP file still holds.

Damaged means: a recording killed before it wrote its summary, a disk that filled up, a copy
cut short.

``rosbags`` needs the MCAP footer and summary, so it refuses such files outright. This scanner
walks the records from the start instead (MCAP is designed to allow that), decompressing chunks
as it goes (also the readable part of a chunk cut in the middle), and stops where the bytes stop.
``end`` then says whether data was lost.

Hostile files are damage too: a record too short for its fields, a name that is not UTF-8, a
chunk declaring (or inflating to) more than :data:`MAX_CHUNK_BYTES` end the readable part there,
with ``end`` saying why. :func:`inflate` is the one bounded decompressor, also installed into
rosbags (:func:`bound_rosbags_decompression`), which otherwise inflates any chunk whole.
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
# Largest chunk (or record) inflated into memory. rosbag2's MCAP writer closes a chunk after a
# few MB and gives a larger message a chunk of its own; the largest frame within the node's
# 8K pixel limit (8 bytes a pixel) still fits, while a crafted chunk inflating to gigabytes is
# refused before a byte of it is allocated.
MAX_CHUNK_BYTES = 256 * 1024 * 1024
MESSAGE_HEADER = 22      # channel id u16, sequence u32, log time u64, publish time u64


class McapRecoveryError(ValueError):
    """The file is not an MCAP file at all (bad magic or header)."""


class ChunkError(ValueError):
    """A chunk that cannot be inflated within the limits: the text says what it declares."""


def inflate(payload: bytes, compression: str, declared: int,
            limit: int = MAX_CHUNK_BYTES) -> bytes:
    """Decompress a chunk that declares ``declared`` bytes, never producing more than that.

    Raises :class:`ChunkError` when the declared size is over ``limit``, the data inflates
    past it, or the compression is unknown. A cut stream gives the part it holds (zstd and
    lz4 streaming decompressors return what they have).
    """
    if declared > limit:
        raise ChunkError(f"chunk declares {declared} bytes uncompressed, over the limit of "
                         f"{limit} (MAX_CHUNK_BYTES)")
    if compression == "":
        data = payload
    elif compression == "zstd":
        data = zstd.ZstdDecompressor().decompress(payload, max_length=declared + 1)
    elif compression == "lz4":
        data = lz4.frame.LZ4FrameDecompressor().decompress(payload, max_length=declared + 1)
    else:
        raise ChunkError(f"chunk uses unsupported compression {compression!r}")
    if len(data) > declared:
        raise ChunkError(f"{compression} chunk inflates to more than the {declared} bytes it "
                         f"declares (corrupt or crafted)")
    return data


def bound_rosbags_decompression() -> None:
    """Make rosbags inflate MCAP chunks with :func:`inflate` (bounded by the declared size).

    rosbags looks its decompressors up by name in ``storage_mcap.DECOMPRESSORS`` and calls
    them with the chunk's declared size, then checks the size and CRC itself.
    """
    from rosbags.rosbag2 import reader, storage_mcap
    for name in ("", "zstd", "lz4"):
        storage_mcap.DECOMPRESSORS[name] = (
            lambda data, size, name=name: inflate(bytes(data), name, size))
    reader.zstd = _BoundedZstd()     # rosbag2's per-message compression: no declared size


class _BoundedZstd:
    """The zstd module as rosbags' reader uses it, with ``decompress`` bounded."""

    def __getattr__(self, name: str) -> object:
        return getattr(zstd, name)

    @staticmethod
    def decompress(data: bytes) -> bytes:
        decompressor = zstd.ZstdDecompressor()
        out = decompressor.decompress(data, max_length=MAX_CHUNK_BYTES)
        if not decompressor.eof and len(out) >= MAX_CHUNK_BYTES:
            raise ChunkError(f"zstd message inflates to more than {MAX_CHUNK_BYTES} bytes "
                             f"(MAX_CHUNK_BYTES)")
        return out


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
                self.counts[_U16.unpack_from(body)[0]] += 1   # _records checked the length

    def messages(self, channel_ids: set[int]) -> Iterator[tuple[RecoveredChannel, int, bytes]]:
        """(channel, log time ns, CDR bytes) in file order for the given channels."""
        for op, body in self._records():
            if op == OP_MESSAGE:
                channel_id = _U16.unpack_from(body)[0]
                if channel_id in channel_ids and channel_id in self.channels:
                    yield (self.channels[channel_id], _U64.unpack_from(body, 6)[0],
                           bytes(body[MESSAGE_HEADER:]))

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
                if op in (OP_FOOTER, OP_DATA_END):
                    return
                if length > MAX_CHUNK_BYTES:
                    self.end = (f"record at byte {pos} declares {length} bytes, over the limit "
                                f"of {MAX_CHUNK_BYTES} (MAX_CHUNK_BYTES)")
                    return
                body = f.read(min(length, size - pos - 9))
                complete = len(body) == length
                if op == OP_CHUNK:
                    records = self._chunk(body, pos, complete)
                else:
                    records = [(op, body)] if complete else []
                for record in records:
                    problem = self._track(*record)
                    if problem:
                        self.end = f"record at byte {pos}: {problem}"
                        return
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
            if complete:
                self.end = f"chunk at byte {pos} is too short for its header (corrupt)"
            return []
        except UnicodeDecodeError:
            self.end = f"chunk at byte {pos} names its compression in bytes that are not UTF-8"
            return []
        try:
            data = inflate(payload, compression, uncompressed_size)
        except ChunkError as err:
            self.end = f"chunk at byte {pos}: {err}"
            return []
        except (zstd.ZstdError, RuntimeError) as err:
            self.end = f"chunk at byte {pos} cannot be decompressed ({compression}: {err})"
            return []
        if complete and crc and (len(data) != uncompressed_size or crc32(data) != crc):
            self.end = f"chunk at byte {pos} fails its checksum (corrupt data)"
            return []
        return list(_split_records(memoryview(data)))

    def _track(self, op: int, body: bytes) -> str | None:
        """Keep schemas and channels current; return what is wrong with a malformed record."""
        try:
            if op == OP_SCHEMA:
                schema_id, name = _U16.unpack_from(body)[0], _string(body, 2)[0]
                self._schemas[schema_id] = name
            elif op == OP_CHANNEL:
                channel_id, schema_id = _U16.unpack_from(body)[0], _U16.unpack_from(body, 2)[0]
                topic, offset = _string(body, 4)
                encoding = _string(body, offset)[0]
                self.channels[channel_id] = RecoveredChannel(
                    channel_id, topic, self._schemas.get(schema_id, ""), encoding)
            elif op == OP_MESSAGE and len(body) < MESSAGE_HEADER:
                return (f"message record of {len(body)} bytes, shorter than its "
                        f"{MESSAGE_HEADER}-byte header (corrupt)")
        except struct.error:
            return f"{'schema' if op == OP_SCHEMA else 'channel'} record is too short (corrupt)"
        except UnicodeDecodeError:
            return (f"{'schema name' if op == OP_SCHEMA else 'channel topic or encoding'} is "
                    f"not UTF-8 (corrupt or crafted)")
        return None


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
    if offset + 4 + length > len(body):
        raise struct.error("string runs past its record")
    return bytes(body[offset + 4:offset + 4 + length]).decode(), offset + 4 + length
