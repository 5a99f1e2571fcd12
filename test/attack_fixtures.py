"""Hostile compressed images and camera calibrations, made from the real sample stills.

Shared by the unit tests (test_image_decode.py) and the DDS attacks on the running node
(test/ros/test_node_attacks.py), so both fight the same files.
"""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np


def still(name: str = "messi5.jpg") -> np.ndarray:
    """Read a BGR sample photo; skips the calling test when setup has not fetched it."""
    import pytest
    from posenet_ros.core import paths
    path = paths.data_dir() / name
    if not path.is_file():
        pytest.skip(f"sample still missing at {path}: run `make setup`")
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def encode_jpeg(bgr: np.ndarray, progressive: bool = False, restart_interval: int = 0,
                optimize: bool = False, quality: int = 90) -> bytes:
    """Encode with OpenCV (libjpeg-turbo) in one of the layouts cameras and tools produce."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality,
              cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive),
              cv2.IMWRITE_JPEG_OPTIMIZE, int(optimize)]
    if restart_interval:
        params += [cv2.IMWRITE_JPEG_RST_INTERVAL, restart_interval]
    ok, buf = cv2.imencode(".jpg", bgr, params)
    assert ok
    return buf.tobytes()


JPEG_LAYOUTS = {
    "baseline": {},
    "optimized": {"optimize": True},
    "progressive": {"progressive": True},
    "restarts": {"restart_interval": 4},
    "progressive-restarts": {"progressive": True, "restart_interval": 2},
}


def comment_segments(total: int) -> bytes:
    """Make COM segments (64 KB at most each) holding ``total`` bytes of text."""
    out = b""
    while total > 0:
        size = min(total, 65533)
        out += b"\xff\xfe" + struct.pack(">H", size + 2) + b"c" * size
        total -= size
    return out


def jpeg_bomb(width: int, height: int, comment: int = 65533) -> bytes:
    """Make a small real JPEG declaring width x height in its header, behind a long comment.

    The header sits past the first 64 KB, where a header search with a fixed window misses it.
    """
    data = encode_jpeg(cv2.resize(still(), (64, 48)))
    sof = next(i for i in range(2, len(data) - 1)
               if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))
    patched = data[:sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]
    return patched[:2] + comment_segments(comment) + patched[2:]


def png_bomb(width: int = 5700, height: int = 5700) -> bytes:
    """Make a 16-bit RGBA PNG of zeros (about 253 KB at 5700x5700: 260 MB once decoded)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    row = bytes(1 + width * 8)                      # filter byte 0, then 8 bytes per pixel
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def with_trailing_bytes(jpeg: bytes) -> bytes:
    """Append bytes to a valid JPEG, after its end marker (as some cameras pad frames)."""
    rng = np.random.default_rng(5)
    return jpeg + b"\x00" * 7 + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()


def truncated(jpeg: bytes, fraction: float = 0.5, close: bool = True) -> bytes:
    """Cut a JPEG to its first ``fraction``, closed with an end marker when ``close``."""
    cut = jpeg[:int(len(jpeg) * fraction)]
    return cut + b"\xff\xd9" if close else cut


K_GOOD = ((500.0, 0.0, 320.0), (0.0, 520.0, 240.0), (0.0, 0.0, 1.0))
K_NAN = ((float("nan"), 0.0, 320.0), (0.0, 520.0, 240.0), (0.0, 0.0, 1.0))
D_THREE_PLUMB_BOB = (-0.3, 0.1, 0.001)    # plumb_bob needs 5 coefficients


def progressive_scan_bomb(scans: int, width: int = 7680, height: int = 4320) -> bytes:
    """Make a real progressive JPEG of a flat image with ``scans`` extra luma AC scans.

    Each copy is the encoder's own first luma AC scan with its Huffman table (a few dozen
    bytes: one end-of-band run over every block), so libjpeg walks the whole image per scan
    and only warns about the repeated progression.
    """
    from posenet_ros.imaging.jpeg_structure import read_structure
    data = encode_jpeg(np.full((height, width, 3), 128, np.uint8), progressive=True)
    structure = read_structure(data)
    luma_ac = next(i for i, s in enumerate(structure.scans)
                   if i and s.components == (0,) and s.ss > 0 and s.ah == 0)
    cut = structure.scans[luma_ac].end
    segment = data[structure.scans[luma_ac - 1].end:cut]     # DHT + SOS + entropy data
    return data[:cut] + segment * scans + data[cut:]


def bmp_bomb(width: int = 30000, height: int = 30000, size: int = 1024) -> bytes:
    """Make a ``size``-byte 24-bit BMP whose header declares width x height (no pixels)."""
    header = struct.pack("<2sIHHI", b"BM", size, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return (header + info).ljust(size, b"\x00")
