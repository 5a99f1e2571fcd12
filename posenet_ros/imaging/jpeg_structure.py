"""A JPEG's structure, read before and after decoding: frame size, scans, end, completeness.

Why not leave it to OpenCV: ``cv2.imdecode`` allocates whatever the frame header declares
(a 66 KB file can ask for 30000x30000), and libjpeg fills a scan that ends early with flat
blocks and only *prints* "premature end of data segment", so half a JPEG closed with an end
marker decodes "fine". So the data is walked marker by marker from SOI (APPn and COM of any
length are skipped, wherever the frame header is), through each scan's entropy-coded data
(``FF 00`` stuffing, ``RSTn``, fill bytes) to the EOI marker; bytes after EOI are ignored.

How a cut is found (decided here, tested on OpenCV-encoded photos):

- no EOI, a segment running past the data, or a scan without its end: refused;
- restart intervals: each scan must hold ceil(MCUs / interval) - 1 ``RSTn`` markers;
- progressive: the scans must cover every coefficient of every component down to bit 0;
- Huffman-coded sequential scans (the camera case), without decoding in Python: libjpeg gives
  every MCU after the cut the same flat colour. So when the decoded image ends (in MCU order)
  in N >= 2 flat MCUs, the entropy data must end in N - 1 copies of the bit pattern that
  codes a flat MCU (each block: DC difference 0, then EOB), as a real flat region would.
  A normal camera frame fails the first cheap test (its last pixel row is not one colour).

What is not caught: a cut inside the last MCU or two, a cut inside a progressive JPEG's last
scan (it only loses that scan's refinement bit), and flat tails of a clipped colour (a
channel at 0 or 255, where noisy blocks also decode flat): those are accepted.
"""
from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np
from posenet_ros.core.errors import ImageError

SOI, EOI, SOS, DHT, DRI = 0xD8, 0xD9, 0xDA, 0xC4, 0xDD
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {DHT, 0xC8, 0xCC}
PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
ARITHMETIC = frozenset(range(0xC9, 0xD0)) - {0xCC}
RESTARTS = frozenset(range(0xD0, 0xD8))
# Scans a JPEG may hold. libjpeg's standard progressive script writes 10 (6 for grayscale) and
# optimising encoders stay in the tens, while each scan costs libjpeg a pass over every block
# of its components, and a scan can be a few dozen bytes: a small crafted file holds a decoder
# for minutes. 100 leaves ten times the usual script and bounds an 8K frame's extra passes.
MAX_SCANS = 100


class JpegStructureError(ImageError):
    """The JPEG's markers say it is cut short or malformed; the text says where."""


class JpegScanLimitError(JpegStructureError):
    """The JPEG holds more scans than :data:`MAX_SCANS`: refused before decoding."""


@dataclass(frozen=True)
class Frame:
    """The SOFn frame header: size, precision and components (id, h, v sampling)."""

    marker: int
    width: int
    height: int
    precision: int
    components: tuple[tuple[int, int, int], ...]

    @property
    def progressive(self) -> bool:
        return self.marker in PROGRESSIVE


@dataclass(frozen=True)
class Scan:
    """One SOS: its components (frame indexes) and tables, band, and entropy data range."""

    components: tuple[int, ...]
    dc_tables: tuple[int, ...]
    ac_tables: tuple[int, ...]
    ss: int
    se: int
    ah: int
    al: int
    restart_interval: int
    start: int            # first byte of entropy-coded data
    last_interval: int    # first byte after the scan's last RSTn (= start without any)
    end: int              # the marker that ends it
    restarts: int


@dataclass(frozen=True)
class JpegStructure:
    frame: Frame
    scans: tuple[Scan, ...]
    huffman: dict[tuple[int, int], tuple[tuple[int, ...], bytes]]  # (class, id) -> counts, symbols
    end: int                                                       # one past EOI


def read_frame(data: bytes) -> Frame:
    """Walk the segments from SOI to the first SOFn and return it (no size limit applied)."""
    pos = 2
    while True:
        marker, body, pos = _next_segment(data, pos)
        if marker in SOF_MARKERS:
            return _frame(marker, body)
        if marker in (SOS, EOI):
            raise JpegStructureError("corrupt JPEG: no frame header (SOFn) before its first scan")


def count_scans(data: bytes, limit: int = MAX_SCANS) -> int:
    """Count the scans (SOS markers) up to EOI, refusing more than ``limit`` before decoding.

    Tolerant of damage (the count stops where the markers stop): judging a cut is
    :func:`read_structure`'s work; this only bounds the decoder's.
    """
    pos, count = 2, 0
    while pos < len(data):
        try:
            marker, _, pos = _next_segment(data, pos)
        except JpegStructureError:
            break
        if marker == EOI:
            break
        if marker == SOS:
            count += 1
            _check_scan_count(count, limit)
            end = _entropy_end(data, pos)
            if end is None:
                break
            pos = end[0]
    return count


def _check_scan_count(count: int, limit: int) -> None:
    if count > limit:
        raise JpegScanLimitError(
            f"JPEG has more than {limit} scans (progressive images have about 10; each scan "
            f"is one more decoding pass): refused before decoding; re-encode it")


def read_structure(data: bytes) -> JpegStructure:
    """Walk the whole JPEG; raise :class:`JpegStructureError` when it is cut or malformed."""
    frame, scans, huffman, interval = None, [], {}, 0
    pos = 2
    while True:
        marker, body, pos = _next_segment(data, pos)
        if marker == EOI:
            break
        if marker in SOF_MARKERS:
            frame = _frame(marker, body)
        elif marker == DHT:
            _read_huffman(body, huffman)
        elif marker == DRI:
            if len(body) < 2:
                raise JpegStructureError("corrupt JPEG: restart-interval segment is too short")
            interval = int.from_bytes(body[:2], "big")
        elif marker == SOS:
            if frame is None:
                raise JpegStructureError("corrupt JPEG: a scan before any frame header (SOFn)")
            _check_scan_count(len(scans) + 1, MAX_SCANS)
            scans.append(_scan(data, body, pos, frame, interval, len(scans) + 1))
            pos = scans[-1].end
    if frame is None or not scans:
        raise JpegStructureError(
            "corrupt JPEG: no frame header (SOFn) or no scan before its end marker")
    structure = JpegStructure(frame, tuple(scans), huffman, pos)
    _check_coverage(structure)
    return structure


def check_flat_tail(structure: JpegStructure, data: bytes, pixels: np.ndarray) -> None:
    """Refuse a sequential JPEG whose trailing flat MCUs are not coded in its data (see doc)."""
    frame = structure.frame
    if frame.progressive or frame.marker in ARITHMETIC or len(structure.scans) != 1:
        return
    value = pixels[-1, -1]
    if not (pixels[-1] == value).all():
        return                                # the common case: costs one row comparison
    if value.min() == 0 or value.max() == 255:
        return                                # clipped colours decode flat from noisy blocks
    scan = structure.scans[0]
    mcu_w, mcu_h, per_row, rows = _mcu_grid(frame, scan)
    flat = _trailing_flat_mcus(pixels, value, mcu_w, mcu_h, per_row, rows)
    if scan.restart_interval:   # earlier intervals were counted by their RSTn markers
        total = per_row * rows
        last = total - scan.restart_interval * (math.ceil(total / scan.restart_interval) - 1)
        flat = min(flat, last)
    if flat < 2:
        return
    pattern = _flat_mcu_bits(structure, scan, frame)
    needed = (flat - 1) * len(pattern)
    raw = data[max(scan.last_interval, scan.end - 2 * (needed // 8 + 4)):scan.end]
    tail = raw.replace(b"\xff\x00", b"\xff")
    bits = format(int.from_bytes(tail, "big"), f"0{8 * len(tail)}b") if tail else ""
    expected = pattern * (flat - 1)
    for padding in range(8):
        body = bits[:len(bits) - padding]
        if bits.endswith("1" * padding) and body.endswith(expected):
            return
    raise JpegStructureError(
        f"truncated JPEG: its last {flat} MCUs decode as one flat colour but its data does not "
        f"code them (the scan was cut short, then closed with an end marker)")


def _next_segment(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """Read the marker at or after ``pos``: (marker, segment body, position after it)."""
    size = len(data)
    while pos < size and data[pos] != 0xFF:     # stray bytes: libjpeg skips them too
        pos += 1
    while pos + 1 < size and data[pos + 1] == 0xFF:   # fill bytes
        pos += 1
    if pos + 1 >= size:
        raise JpegStructureError(f"truncated JPEG: {size} bytes, no end-of-image marker")
    marker = data[pos + 1]
    pos += 2
    if marker in (SOI, EOI, 0x01) or marker in RESTARTS:
        return marker, b"", pos
    if pos + 2 > size:
        raise JpegStructureError(f"truncated JPEG: ends inside marker 0x{marker:02X}")
    length = int.from_bytes(data[pos:pos + 2], "big")
    if length < 2:
        raise JpegStructureError(
            f"corrupt JPEG: segment 0x{marker:02X} at byte {pos - 2} declares length {length}")
    if pos + length > size:
        raise JpegStructureError(
            f"truncated JPEG: segment 0x{marker:02X} at byte {pos - 2} declares {length} "
            f"bytes, but the data ends at byte {size}")
    return marker, data[pos + 2:pos + length], pos + length


def _frame(marker: int, body: bytes) -> Frame:
    if len(body) < 6 or len(body) < 6 + 3 * body[5] or body[5] == 0:
        raise JpegStructureError(f"corrupt JPEG: frame header (SOF 0x{marker:02X}) is malformed")
    height = int.from_bytes(body[1:3], "big")
    width = int.from_bytes(body[3:5], "big")
    components = tuple((body[6 + 3 * i], body[7 + 3 * i] >> 4, body[7 + 3 * i] & 15)
                       for i in range(body[5]))
    if any(h == 0 or v == 0 for _, h, v in components):
        raise JpegStructureError("corrupt JPEG: frame header has a zero sampling factor")
    return Frame(marker, width, height, body[0], components)


def _read_huffman(body: bytes, tables: dict) -> None:
    pos = 0
    while pos < len(body):
        if pos + 17 > len(body):
            raise JpegStructureError("corrupt JPEG: Huffman table segment is malformed")
        counts = tuple(body[pos + 1:pos + 17])
        symbols = body[pos + 17:pos + 17 + sum(counts)]
        if len(symbols) < sum(counts):
            raise JpegStructureError("corrupt JPEG: Huffman table segment is malformed")
        tables[(body[pos] >> 4, body[pos] & 15)] = (counts, symbols)
        pos += 17 + sum(counts)


def _scan(data: bytes, body: bytes, start: int, frame: Frame, interval: int,
          number: int) -> Scan:
    count = body[0] if body else 0
    if count == 0 or len(body) < 4 + 2 * count:
        raise JpegStructureError(f"corrupt JPEG: scan header {number} is malformed")
    ids = [c[0] for c in frame.components]
    picks = [body[1 + 2 * i:3 + 2 * i] for i in range(count)]
    if any(p[0] not in ids for p in picks):
        raise JpegStructureError(f"corrupt JPEG: scan {number} names a component the frame lacks")
    ss, se, a = body[1 + 2 * count:4 + 2 * count]
    walked = _entropy_end(data, start)
    if walked is None:
        raise JpegStructureError(
            f"truncated JPEG: the data ends inside scan {number}, without an end marker")
    end, last_interval, restarts = walked
    scan = Scan(tuple(ids.index(p[0]) for p in picks), tuple(p[1] >> 4 for p in picks),
                tuple(p[1] & 15 for p in picks), ss, se, a >> 4, a & 15, interval, start,
                last_interval, end, restarts)
    if interval:
        _, _, per_row, rows = _mcu_grid(frame, scan)
        expected = math.ceil(per_row * rows / interval) - 1
        if restarts < expected:
            raise JpegStructureError(
                f"truncated JPEG: scan {number} holds {restarts} of its {expected} restart "
                f"markers (the data was cut)")
    return scan


def _entropy_end(data: bytes, start: int) -> tuple[int, int, int] | None:
    """(marker ending the scan, first byte after its last RSTn, RSTn count); None: no end."""
    end, last_interval, restarts = start, start, 0
    size = len(data)
    while True:
        end = data.find(b"\xff", end)
        if end < 0 or end + 1 >= size:
            return None
        follower = data[end + 1]
        if follower == 0:
            end += 2
        elif follower in RESTARTS:
            restarts += 1
            end += 2
            last_interval = end
        elif follower == 0xFF:
            end += 1
        else:
            return end, last_interval, restarts


def _check_coverage(structure: JpegStructure) -> None:
    """Every component must be scanned; progressive: every coefficient down to bit 0."""
    frame = structure.frame
    count = len(frame.components)
    if not frame.progressive:
        scanned = {c for scan in structure.scans for c in scan.components}
        if len(scanned) < count:
            raise JpegStructureError(
                f"truncated JPEG: {count - len(scanned)} of its {count} components have no scan")
        return
    bits = np.full((count, 64), -1)
    for scan in structure.scans:
        for c in scan.components:
            bits[c, scan.ss:scan.se + 1] = scan.al
    missing = int((bits != 0).any(axis=1).sum())
    if missing:
        raise JpegStructureError(
            f"truncated JPEG: progressive scans for {missing} of {count} components are "
            f"missing or unrefined ({len(structure.scans)} scans before the end marker)")


def _mcu_grid(frame: Frame, scan: Scan) -> tuple[int, int, int, int]:
    """MCU width and height in pixels, MCUs per row and MCU rows of this scan."""
    hmax = max(h for _, h, _ in frame.components)
    vmax = max(v for _, _, v in frame.components)
    if len(scan.components) == 1:
        _, h, v = frame.components[scan.components[0]]
        mcu_w, mcu_h = 8 * hmax // h, 8 * vmax // v
    else:
        mcu_w, mcu_h = 8 * hmax, 8 * vmax
    return mcu_w, mcu_h, math.ceil(frame.width / mcu_w), math.ceil(frame.height / mcu_h)


def _trailing_flat_mcus(pixels, value, mcu_w, mcu_h, per_row, rows) -> int:
    """Count the MCUs (raster order, from the last) whose pixels all equal ``value``."""
    height, width = pixels.shape[:2]
    flat_rows = (pixels == value).all(axis=-1).all(axis=1)[::-1]
    run = height if flat_rows.all() else int(np.argmin(flat_rows))
    last_h = height - (rows - 1) * mcu_h          # pixel rows of the last MCU row
    full = 0 if run < last_h else min(rows, 1 + (run - last_h) // mcu_h)
    if full == rows:
        return rows * per_row
    top = (rows - 1 - full) * mcu_h
    band = pixels[top:top + mcu_h]
    flat_cols = (band == value).all(axis=-1).all(axis=0)[::-1]
    cols = width if flat_cols.all() else int(np.argmin(flat_cols))
    last_w = width - (per_row - 1) * mcu_w
    partial = 0 if cols < last_w else min(per_row, 1 + (cols - last_w) // mcu_w)
    return full * per_row + partial


def _flat_mcu_bits(structure: JpegStructure, scan: Scan, frame: Frame) -> str:
    """Spell the bits that code one MCU of flat blocks (DC difference 0, EOB) here."""
    bits = []
    for c, dc, ac in zip(scan.components, scan.dc_tables, scan.ac_tables):
        _, h, v = frame.components[c]
        blocks = 1 if len(scan.components) == 1 else h * v
        bits.append((_code(structure, 0, dc) + _code(structure, 1, ac)) * blocks)
    return "".join(bits)


def _code(structure: JpegStructure, table_class: int, table_id: int) -> str:
    """Spell the canonical Huffman code of symbol 0 (DC category 0 / AC end-of-block)."""
    table = structure.huffman.get((table_class, table_id))
    if table is None:
        raise JpegStructureError(f"corrupt JPEG: no Huffman table {table_class}/{table_id}")
    counts, symbols = table
    code, index = 0, 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            if symbols[index] == 0:
                return format(code, f"0{length}b")
            code += 1
            index += 1
        code <<= 1
    raise JpegStructureError(
        f"corrupt JPEG: Huffman table {table_class}/{table_id} cannot code a flat block")
