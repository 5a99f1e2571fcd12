"""Fixtures for comparing posenet_ros with its Node references (TF.js PoseNet, pose-detection).

Everything expensive is session-scoped: one PoseNet Node process (MoveNet's: one per module,
its detectors keep state), one engine per (mode, resolution), the frames decoded once,
reference answers cached per (frame, mode, resolution, input kind).
Missing prerequisites skip with the reason; with ``POSENET_ROS_REQUIRE_REFERENCE=1`` (set by
``make test``) they fail instead, so a broken setup cannot pass the parity suite by skipping.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from posenet_ros.core import paths
from posenet_ros.reference.movenet_runner import ReferenceMoveNet
from posenet_ros.reference.runner import ReferencePoseNet, ReferenceUnavailable
from prerequisites import missing
import pytest

# Frames with people: pedestrians spread over vtest.avi (795 frames), and opencv-doc stills.
VIDEO_FRAMES = (0, 158, 317, 476, 635, 794)
STILLS = ("messi5.jpg", "basketball1.png", "basketball2.png")


def running(reference_class: type, what: str):
    """Start ``reference_class`` on the wasm backend, yield it, close it; skip when it cannot."""
    try:
        ref = reference_class(backend="wasm")
    except ReferenceUnavailable as err:
        missing(f"{what} unavailable: {err}")
    with ref:
        yield ref


@pytest.fixture(scope="session")
def reference():
    """Start TF.js PoseNet 2.2.2 in Node on the wasm backend, once per session."""
    yield from running(ReferencePoseNet, "TF.js reference")


@pytest.fixture(scope="module")
def movenet_reference():
    """Start pose-detection 2.1.3's MoveNet in Node once per module: detector state stays in it."""
    yield from running(ReferenceMoveNet, "pose-detection reference")


def _video_frames(path: Path, indices: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames, index = [], 0
    try:
        while index <= max(indices):
            ok, bgr = capture.read()
            if not ok:
                break
            if index in indices:
                frames.append((f"{path.name}#{index}", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
            index += 1
    finally:
        capture.release()
    return frames


@pytest.fixture(scope="session")
def parity_frames() -> list[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8 RGB) for every test frame found under $POSENET_ROS_HOME/data."""
    import cv2

    data = paths.data_dir()
    frames = []
    if paths.sample_video().is_file():
        frames += _video_frames(paths.sample_video(), VIDEO_FRAMES)
    for name in STILLS:
        bgr = cv2.imread(str(data / name)) if (data / name).is_file() else None
        if bgr is not None:
            frames.append((name, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    if not frames:
        missing(f"no test frames in {data} (vtest.avi, {', '.join(STILLS)}); run `make setup`")
    return frames


@pytest.fixture(scope="session")
def parity_report():
    """Rows of measured differences, printed as one table at the end of the session (-s)."""
    rows: list[dict] = []
    yield rows
    if rows:
        print("\n" + format_report(rows))


REPORT_COLUMNS = (("check", "{}"), ("mode", "{}"), ("res", "{}"), ("frames", "{}"),
                  ("poses", "{}"), ("kps>=0.5", "{}"), ("max|dscore|", "{:.2e}"),
                  ("max|dkp score|", "{:.2e}"), ("max dpx all", "{:.3f}"),
                  ("max dpx >=0.5", "{:.3f}"))


def format_report(rows: list[dict]) -> str:
    cells = [[name for name, _ in REPORT_COLUMNS]]
    cells += [[fmt.format(row[name]) for name, fmt in REPORT_COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(REPORT_COLUMNS))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "Parity with TF.js PoseNet 2.2.2 (wasm):\n" + "\n".join(lines)
