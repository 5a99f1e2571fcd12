"""Hostile MCAP files written record by record (the MCAP spec's layout), for the bag tool.

Each file holds a real CompressedImage schema and channel, one real JPEG frame, then the
hostile part: a zstd or lz4 chunk that inflates to far more than it is, a compression name or
topic that is not UTF-8, a message record too short for its header. With ``footer`` the file
ends properly (rosbags reads it, scanning the records since there is no summary); without,
it stops after the data (the sequential recovery reader takes it).
"""
from __future__ import annotations

from pathlib import Path
import struct
from zlib import crc32

import cv2
import lz4.frame
import numpy as np

try:
    from compression import zstd  # Python >= 3.14
except ImportError:
    from backports import zstd

MAGIC = b"\x89MCAP0\r\n"
TOPIC = "/cam/image/compressed"
MSGTYPE = "sensor_msgs/msg/CompressedImage"


def record(op: int, body: bytes) -> bytes:
    return struct.pack("<BQ", op, len(body)) + body


def string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<I", len(raw)) + raw


def frame_cdr(stamp: int = 1) -> bytes:
    """One CompressedImage message (a real JPEG of a gradient), CDR-serialised."""
    from posenet_ros.bag.typestore import typestore
    store = typestore()
    t = store.types
    gradient = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1))
    ok, jpeg = cv2.imencode(".jpg", cv2.merge([gradient] * 3))
    header = t["std_msgs/msg/Header"](
        stamp=t["builtin_interfaces/msg/Time"](sec=stamp, nanosec=0), frame_id="cam")
    msg = t[MSGTYPE](header=header, format="jpeg", data=jpeg.ravel())
    return bytes(store.serialize_cdr(msg, MSGTYPE))


def schema_and_channel(topic: str | bytes = TOPIC) -> bytes:
    from posenet_ros.bag.typestore import typestore
    text, _ = typestore().generate_msgdef(MSGTYPE, ros_version=2)
    schema = record(0x03, struct.pack("<H", 1) + string(MSGTYPE) + string("ros2msg")
                    + string(text))
    channel = record(0x04, struct.pack("<HH", 1, 1) + string(topic) + string("cdr")
                     + struct.pack("<I", 0))
    return schema + channel


def message(stamp: int, data: bytes) -> bytes:
    return record(0x05, struct.pack("<HIQQ", 1, stamp, stamp, stamp) + data)


def chunk(payload: bytes, compression: str | bytes, declared: int, crc: int = 0) -> bytes:
    return record(0x06, struct.pack("<QQQI", 0, 10**9, declared, crc) + string(compression)
                  + struct.pack("<Q", len(payload)) + payload)


def inflating(size: int, compression: str = "zstd") -> bytes:
    """Compress one ``size``-byte record of zeros (an unknown op) without holding it."""
    head = struct.pack("<BQ", 0x80, size - 9)
    block = bytes(1 << 24)
    if compression == "zstd":
        packer = zstd.ZstdCompressor()
        parts = [packer.compress(head)]
        left = size - 9
        while left:
            parts.append(packer.compress(block[:min(left, len(block))]))
            left -= min(left, len(block))
        return b"".join(parts) + packer.flush()
    packer = lz4.frame.LZ4FrameCompressor()
    parts = [packer.begin(), packer.compress(head)]
    left = size - 9
    while left:
        parts.append(packer.compress(block[:min(left, len(block))]))
        left -= min(left, len(block))
    return b"".join(parts) + packer.flush()


def write_mcap(path: Path, hostile: bytes, footer: bool = True, topic: str | bytes = TOPIC
               ) -> Path:
    """Write header, schema, channel, one real frame, ``hostile`` records, then the end."""
    header = record(0x01, string("ros2") + string("posenet_ros hostile test"))
    body = MAGIC + header + schema_and_channel(topic) + message(1, frame_cdr()) + hostile
    if footer:
        body += record(0x0F, struct.pack("<I", 0)) + record(0x02, struct.pack("<QQI", 0, 0, 0))
        body += MAGIC
    path.write_bytes(body)
    return path


def zstd_bomb(size: int) -> bytes:
    """Make a chunk declaring and inflating to ``size`` bytes."""
    return chunk(inflating(size), "zstd", size)


def lying_chunk(size: int, declared: int = 1024, compression: str = "zstd") -> bytes:
    """Make a chunk declaring ``declared`` bytes that inflates to ``size``."""
    return chunk(inflating(size, compression), compression, declared)


def bad_name_chunk() -> bytes:
    inner = message(2, frame_cdr(2))
    return chunk(inner, b"\xff\xfezstd", len(inner), crc32(inner))


def short_message() -> bytes:
    return record(0x05, b"\x01")
