"""Writing annotated frames: one image file, or a video at the source's frame rate."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from posenet_ros.core.errors import ImageError
from posenet_ros.imaging.files import is_video, video_fps

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG", ".mkv": "MJPG", ".mov": "mp4v"}


class AnnotatedOutput:
    """Sink for RGB frames: an image path gets the (last) frame, a video path every frame."""

    def __init__(self, target: str | Path, source: str | Path | None = None,
                 fps: float | None = None):
        self.target = Path(target)
        self._fps = fps or (video_fps(source) if source and is_video(source) else 30.0)
        self._video = is_video(self.target)
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0
        if not self._video and source is not None and is_video(source):
            raise ImageError(f"{self.target}: a video needs a video output (.mp4, .avi, ...)")
        self.target.parent.mkdir(parents=True, exist_ok=True)

    def write(self, rgb: np.ndarray) -> None:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if not self._video:
            if not cv2.imwrite(str(self.target), bgr):
                raise ImageError(f"{self.target}: cannot write an image with this extension")
        else:
            if self._writer is None:
                h, w = bgr.shape[:2]
                fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(self.target.suffix.lower(), "mp4v"))
                self._writer = cv2.VideoWriter(str(self.target), fourcc, self._fps, (w, h))
                if not self._writer.isOpened():
                    raise ImageError(f"{self.target}: cannot open a video writer for it")
            self._writer.write(bgr)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
