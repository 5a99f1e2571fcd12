"""What an image file declares before it is decoded, and the limits it must fit.

``cv2.imdecode`` allocates whatever a header declares (a 1 KB BMP can ask for 30000x30000 and
a small PNG for gigabytes of 16-bit pixels), and a progressive JPEG is decoded once per scan.
So every decode in posenet_ros (the node's messages, the CLI's and the bag tool's files) first
reads the header here and refuses what exceeds the limits, before OpenCV allocates anything.
Formats whose header is not read here are refused: OpenCV's own limits for them are far above
what a pose estimator needs.
"""
from __future__ import annotations

import re
import struct

from posenet_ros.core.errors import ImageError
from posenet_ros.imaging.jpeg_structure import count_scans, MAX_SCANS, read_frame

DEFAULT_MAX_PIXELS = 7680 * 4320  # 8K UHD; larger frames are almost surely corrupt headers
# A compressed frame may decode to at most this many bytes per allowed pixel (8-bit RGBA):
# a 16-bit RGBA PNG at the pixel limit would need twice that.
DECODED_BYTES_PER_PIXEL = 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}   # IHDR colour type -> decoded channels
_PNM = re.compile(rb"P([1-6])(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)"
                  rb"(?:(?:\s+|#[^\n]*\n)+(\d+))?")
SUPPORTED_FILES = "JPEG, PNG, BMP, WebP, PPM/PGM/PBM"


class ImageDecodeError(ImageError):
    """An image that cannot be turned into an RGB array; the text says why, with the numbers."""


def jpeg_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, channels, bytes per sample) of a JPEG, refusing too many scans."""
    frame = read_frame(data)
    count_scans(data, MAX_SCANS)
    return frame.width, frame.height, len(frame.components), 2 if frame.precision > 8 else 1


def png_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, channels, bytes per sample) from the IHDR chunk, which comes first."""
    if len(data) < 29 or data[12:16] != b"IHDR":
        raise ImageDecodeError(f"corrupt PNG: no IHDR header chunk in its {len(data)} bytes")
    width, height = struct.unpack(">II", data[16:24])
    depth, colour = data[24], data[25]
    if colour not in _PNG_CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise ImageDecodeError(f"corrupt PNG: invalid bit depth {depth} / colour type {colour}")
    return width, height, _PNG_CHANNELS[colour], 2 if depth == 16 else 1


def bmp_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, channels, 1) from the BMP info header (core or Windows form)."""
    if len(data) < 26:
        raise ImageDecodeError(f"corrupt BMP: {len(data)} bytes, shorter than its header")
    if struct.unpack_from("<I", data, 14)[0] == 12:        # OS/2 BITMAPCOREHEADER
        width, height, _, bits = struct.unpack_from("<HHHH", data, 18)
    elif len(data) >= 30:
        width, height, _, bits = struct.unpack_from("<iiHH", data, 18)
    else:
        raise ImageDecodeError(f"corrupt BMP: {len(data)} bytes, shorter than its header")
    return abs(width), abs(height), 4 if bits == 32 else 3, 1


def webp_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, 4, 1) from the VP8, VP8L or VP8X chunk that follows RIFF/WEBP."""
    kind = data[12:16]
    if kind == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
    elif kind == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif kind == b"VP8 " and len(data) >= 30:
        width, height = (v & 0x3FFF for v in struct.unpack_from("<HH", data, 26))
    else:
        raise ImageDecodeError("corrupt WebP: no VP8/VP8L/VP8X header")
    return width, height, 4, 1


def pnm_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, channels, bytes per sample) from a PBM/PGM/PPM text header."""
    match = _PNM.match(data[:4096])
    if match is None:
        raise ImageDecodeError("corrupt PNM: no width and height in its header")
    kind, width, height = int(match[1]), int(match[2]), int(match[3])
    deep = match[4] is not None and kind not in (1, 4) and int(match[4]) > 255
    return width, height, 3 if kind in (3, 6) else 1, 2 if deep else 1


def probe(data: bytes) -> tuple[str, tuple[int, int, int, int]]:
    """Return the format's name and (width, height, channels, bytes per sample) it declares.

    Raises :class:`ImageDecodeError` for a format this module does not read (named by its
    first bytes), and JpegStructureError for a JPEG without a frame header or with too many
    scans.
    """
    if data.startswith(b"\xff\xd8"):
        return "JPEG", jpeg_header(data)
    if data.startswith(PNG_SIGNATURE):
        return "PNG", png_header(data)
    if data.startswith(b"BM"):
        return "BMP", bmp_header(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP", webp_header(data)
    if data[:1] == b"P" and data[1:2] in b"123456" and len(data) > 2:
        return "PNM", pnm_header(data)
    raise ImageDecodeError(
        f"unsupported image format (starts with {data[:4].hex()}); supported: {SUPPORTED_FILES}")


def check_cost(kind: str, width: int, height: int, channels: int, sample_bytes: int,
               max_pixels: int, setting: str = "max_image_pixels") -> None:
    """Refuse an image whose header declares more than the limits allow.

    ``setting`` names where the pixel limit comes from, in the message.
    """
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"{kind} header declares a zero size: {width}x{height}")
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"{kind} header declares {width}x{height} = {width * height} pixels, over the "
            f"limit of {max_pixels} ({setting})")
    decoded, limit = width * height * channels * sample_bytes, max_pixels * DECODED_BYTES_PER_PIXEL
    if decoded > limit:
        raise ImageDecodeError(
            f"{kind} {width}x{height} with {channels} channel(s) of {8 * sample_bytes} bits "
            f"decodes to {decoded} bytes, over the limit of {limit} ({max_pixels} pixels x "
            f"{DECODED_BYTES_PER_PIXEL} bytes)")
