"""Reading images and videos into RGB uint8, with errors a user can act on.

Every path is checked before anything is opened for decoding: it must be a regular file (a
FIFO or a device would block or never end; each gets its true name, as do symlink loops and
missing permissions), and an image's header must declare a size within ``max_pixels`` (the
node's ``max_image_pixels`` default) before OpenCV allocates it (:mod:`.headers`).
"""
from __future__ import annotations

from collections.abc import Iterator
import errno
import os
from pathlib import Path
import stat

import cv2
import numpy as np

from posenet_ros.core.errors import ImageError
from posenet_ros.imaging.headers import (
    check_cost, DECODED_BYTES_PER_PIXEL, DEFAULT_MAX_PIXELS, probe)
from posenet_ros.imaging.jpeg_structure import JpegScanLimitError, JpegStructureError

VIDEO_SUFFIXES = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def to_rgb8(image: np.ndarray, source: str = "image") -> np.ndarray:
    """Any OpenCV-decoded image (gray, BGR, BGRA; 8 or 16 bit) -> RGB uint8."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)      # keep the top byte: a plain 16 -> 8 bit mapping
    elif image.dtype != np.uint8:
        raise ImageError(f"{source}: unsupported pixel type {image.dtype}")
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    raise ImageError(f"{source}: unsupported channel count {image.shape[2]}")


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def check_regular_file(path: str | Path) -> os.stat_result:
    """Return the file's status; raise ImageError naming why it is not a readable file."""
    try:
        status = os.stat(path)
    except OSError as err:
        raise ImageError(_why_not(path, err)) from None
    _check_regular(path, status)
    return status


def read_file(path: str | Path, max_bytes: int) -> bytes:
    """Read a regular file of at most ``max_bytes`` without blocking on FIFOs or devices."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise ImageError(_why_not(path, err)) from None
    with os.fdopen(fd, "rb") as file:
        status = os.fstat(fd)
        _check_regular(path, status)     # the file opened, not the one stat saw before
        if status.st_size > max_bytes:
            raise ImageError(f"{path}: {status.st_size} bytes, over the limit of {max_bytes} "
                             f"for an image file")
        return file.read(max_bytes + 1)[:max_bytes]


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as RGB uint8 (grayscale, alpha and 16-bit files are converted).

    The header's size must fit ``max_pixels`` (and its decoded bytes ``max_pixels`` x 4)
    before OpenCV decodes it; formats whose header is not read are refused.
    """
    path = Path(path)
    check_regular_file(path)
    data = read_file(path, 2 * max_pixels * DECODED_BYTES_PER_PIXEL)
    if not data:
        raise ImageError(f"{path}: file is empty")
    try:
        kind, size = probe(data)
        check_cost(kind, *size, max_pixels, "8K UHD: downscale the image")
    except JpegScanLimitError as err:
        raise ImageError(f"{path}: {err}") from None
    except JpegStructureError as err:     # no frame header, a segment past the end
        raise ImageError(f"{path}: not a readable image ({err})") from None
    except ImageError as err:
        raise ImageError(f"{path}: {err}") from None
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as err:          # OpenCV's own limits and assertions
        raise ImageError(f"{path}: OpenCV refused this {kind}: "
                         f"{str(err).strip().splitlines()[-1]}") from None
    if image is None:
        raise ImageError(f"{path}: not a readable image (corrupt, truncated or unknown format)")
    if image.size == 0:
        raise ImageError(f"{path}: image has no pixels")
    return to_rgb8(image, str(path))


def iter_video(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[np.ndarray]:
    """Frames of a video file as RGB uint8.

    Raises ImageError when the file is not a regular file, its frame size is over
    ``max_pixels``, or it holds no frame at all (after yielding nothing).
    """
    path = Path(path)
    check_regular_file(path)
    capture = cv2.VideoCapture(str(path))
    frames = 0
    try:
        if not capture.isOpened():
            raise ImageError(f"{path}: cannot open as a video")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > max_pixels:
            raise ImageError(f"{path}: video frames of {width}x{height} = {width * height} "
                             f"pixels, over the limit of {max_pixels}")
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
    if not frames:
        raise ImageError(f"{path}: the video has no readable frame (empty, or a codec OpenCV's "
                         f"video backends cannot decode)")


def video_fps(path: str | Path, default: float = 30.0) -> float:
    """Frame rate from the container; ``default`` when it does not say or is not a file."""
    if not _is_regular(path):
        return default
    capture = cv2.VideoCapture(str(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return fps if fps and 1.0 <= fps <= 1000.0 else default


def video_frame_count(path: str | Path) -> int:
    """Frame count from the container (0 when it does not say or is not a file)."""
    if not _is_regular(path):
        return 0
    capture = cv2.VideoCapture(str(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        capture.release()


def spread_frames(path: str | Path, count: int) -> list[np.ndarray]:
    """Return ``count`` frames spread evenly over a video, keeping only those in memory."""
    step = max(1, video_frame_count(path) // max(count, 1))
    return [frame for i, frame in enumerate(iter_video(path)) if i % step == 0][:count]


def iter_frames(path: str | Path) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, RGB) for an image (one frame) or a video (every frame)."""
    if is_video(path):
        yield from enumerate(iter_video(path))
    else:
        yield 0, read_image(path)


def _is_regular(path: str | Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _check_regular(path: str | Path, status: os.stat_result) -> None:
    if stat.S_ISREG(status.st_mode):
        return
    kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a plain file")
    raise ImageError(f"{path}: is {kind}, not a regular file; give an image or video file")


def _why_not(path: str | Path, err: OSError) -> str:
    """Name why ``path`` cannot be opened, as the OS says, with the usual cause."""
    if err.errno == errno.ENOENT:
        if os.path.lexists(path):
            return f"{path}: broken symlink (points to {os.readlink(path)}, which does not exist)"
        return f"{path}: no such file"
    if err.errno == errno.ELOOP:
        return f"{path}: too many levels of symbolic links (a symlink loop)"
    if err.errno == errno.EACCES:
        return f"{path}: permission denied"
    return f"{path}: cannot open ({err.strerror or err})"
