"""Reading images and videos into RGB uint8, with errors a user can act on."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from posenet_ros.core.errors import ImageError

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


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 (grayscale, alpha and 16-bit files are converted)."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: file is empty")
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError(f"{path}: not a readable image (corrupt, truncated or unknown format)")
    if image.size == 0:
        raise ImageError(f"{path}: image has no pixels")
    return to_rgb8(image, str(path))


def iter_video(path: str | Path) -> Iterator[np.ndarray]:
    """Frames of a video file as RGB uint8."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ImageError(f"{path}: cannot open as a video")
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def video_fps(path: str | Path, default: float = 30.0) -> float:
    capture = cv2.VideoCapture(str(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return fps if fps and 1.0 <= fps <= 1000.0 else default


def video_frame_count(path: str | Path) -> int:
    """Frame count from the container (0 when it does not say)."""
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
