"""The files ``posenet-ros bag`` writes, and the checks that keep them inside the output folder.

The pose bag and the keypoint CSV are opened before the first frame and closed in ``finally``
by the analysis, so whatever was processed before a fault or Ctrl-C is a valid, complete file:
the MCAP gets its summary and ``metadata.yaml``, the CSV its last row.

No output follows a symlink: :func:`check_outputs` counts a link (even a dangling one) as an
existing output, ``--force`` removes the link itself, the CSV is created exclusively
(``O_EXCL`` fails on any link) and the summary and plot are written to a temporary file in the
folder, then renamed over the name (:func:`replace_file`). An output folder that is, holds or
sits inside an input is refused before anything is removed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
import contextlib
import csv
import math
import os
from pathlib import Path
import shutil
import tempfile
from typing import IO

from posenet_ros.bag.reader import BagError
from posenet_ros.bag.typestore import IMAGE_ANNOTATIONS, MARKER_ARRAY, POSE_ARRAY
from posenet_ros.core.keypoints import PART_NAMES
from posenet_ros.core.pose import Pose
from posenet_ros.core.stamps import NS_PER_S, stamp_text
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys.store import Typestore

# rosbag2 metadata version 8: the oldest rosbags writes, and the newest Humble's rosbag2 parses
# (version 9 stores QoS profiles as a list, which Humble's metadata reader rejects).
BAG_VERSION = 8
CSV_COLUMNS = ("stamp", "stamp_ns", "frame", "pose", "part_id", "part", "x", "y", "score",
               "pose_score", "track_id", "track_age", "x_3d", "y_3d", "z_3d", "valid_3d")
_NO_3D = (("", "", "", 0),) * len(PART_NAMES)


def check_outputs(out_dir: Path, outputs: Iterable[Path], force: bool,
                  inputs: Iterable[Path]) -> list[Path]:
    """Return the outputs already there (links included); BagError where writing could harm.

    Refused: ``out_dir`` not a folder; outputs already there without ``force``; an output
    folder that is or sits inside an input, an output that is, holds or (through a link)
    leads into an input, and with ``force`` an output folder that holds an input anywhere.
    """
    if os.path.lexists(out_dir) and not out_dir.is_dir():
        raise BagError(f"output {out_dir} exists and is not a folder")
    out_real = Path(os.path.realpath(out_dir))
    for source in inputs:
        real = Path(os.path.realpath(source))
        if _within(out_real, real):
            raise BagError(f"output folder {out_dir} is inside the input {source}: choose an "
                           f"-o folder outside the recording")
        for path in outputs:
            if _within(Path(os.path.realpath(path)), real) or _within(real, Path(
                    os.path.realpath(path))):
                raise BagError(f"output {path} would replace the input {source}: choose "
                               f"another -o folder")
        if force and _within(real, out_real):
            raise BagError(f"--force replaces outputs in {out_dir}, which holds the input "
                           f"{source}: choose an -o folder that holds no input")
    existing = [p for p in outputs if os.path.lexists(p)]
    if existing and not force:
        raise BagError(f"{out_dir} already holds {', '.join(p.name for p in existing)}; "
                       f"choose another -o folder or pass --force to replace them")
    return existing


def prepare_outputs(out_dir: Path, outputs: Iterable[Path], force: bool,
                    inputs: Iterable[Path]) -> None:
    """Check (:func:`check_outputs`), remove earlier outputs without following links, mkdir."""
    outputs = list(outputs)
    for path in check_outputs(out_dir, outputs, force, list(inputs)):
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)     # does not follow links inside the folder either
    out_dir.mkdir(parents=True, exist_ok=True)


def replace_file(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file beside it, renamed over it (never followed)."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False)
    try:
        with handle:
            os.fchmod(handle.fileno(), 0o666 & ~_umask())   # as open() would create it
            write(handle)
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


def remove_links(paths: Iterable[Path]) -> None:
    """Unlink the symlinks among ``paths`` (the links only: their targets are not touched)."""
    for path in paths:
        if path.is_symlink():
            path.unlink()


def _umask() -> int:
    """Return the process umask without changing it (Linux reports it; else the usual 022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class PoseBag:
    """A rosbag2 MCAP bag with PoseArray (and optionally MarkerArray) messages.

    Optionally also ``foxglove_msgs/ImageAnnotations`` and the input's image messages, copied
    byte for byte, so that Foxglove or Lichtblick shows the video with skeletons from this
    one file. Message definitions are embedded (MCAP schemas from the typestore), so
    ``rosbags`` and ``ros2 bag`` read it without posenet_ros installed.
    """

    def __init__(self, path: Path, store: Typestore, pose_topic: str,
                 marker_topic: str | None = None, annotation_topic: str | None = None,
                 image: tuple[str, str] | None = None) -> None:
        self.path = path
        self.count = 0
        self._store = store
        self._writer = Writer(path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        add = self._writer.add_connection
        self._poses = add(pose_topic, POSE_ARRAY, typestore=store)
        self._markers = add(marker_topic, MARKER_ARRAY, typestore=store) if marker_topic else None
        self._annotations = (add(annotation_topic, IMAGE_ANNOTATIONS, typestore=store)
                             if annotation_topic else None)
        self._image = add(*image, typestore=store) if image else None   # (topic, msgtype)

    def write(self, log_time_ns: int, pose_array: object, markers: object | None = None,
              annotations: object | None = None) -> None:
        """One frame's messages, logged at ``log_time_ns`` (the input image's receive time)."""
        self._writer.write(self._poses, log_time_ns,
                           self._store.serialize_cdr(pose_array, POSE_ARRAY))
        if self._markers is not None and markers is not None:
            self._writer.write(self._markers, log_time_ns,
                               self._store.serialize_cdr(markers, MARKER_ARRAY))
        if self._annotations is not None and annotations is not None:
            self._writer.write(self._annotations, log_time_ns,
                               self._store.serialize_cdr(annotations, IMAGE_ANNOTATIONS))
        self.count += 1

    def write_image(self, log_time_ns: int, raw: bytes) -> None:
        """Copy one input image message (its CDR bytes as read) when opened with ``image``."""
        if self._image is not None:
            self._writer.write(self._image, log_time_ns, raw)

    def close(self) -> None:
        """Write the MCAP summary and metadata.yaml; safe to call twice."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


class KeypointCsv:
    """One row per keypoint per pose per frame (see :data:`CSV_COLUMNS`).

    ``stamp`` is the header stamp as exact decimal seconds (``sec.nanosec``, 9 digits),
    ``stamp_ns`` the same as integer nanoseconds; ``frame`` the index of the input message on
    the topic (undecodable frames keep their index but have no rows). ``track_id`` is 0 for a
    person not (yet) confirmed by the tracker, or with tracking off; ``track_age`` its seconds
    since the track began. ``x_3d, y_3d, z_3d`` are metres in the colour camera's optical
    frame (x right, y down, z forward), empty where ``valid_3d`` is 0 (no depth paired, or no
    valid depth at that keypoint).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._file = path.open("x", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(CSV_COLUMNS)

    def write(self, sec: int, nanosec: int, frame: int, poses: list[Pose]) -> None:
        stamp, ns = stamp_text(sec, nanosec), sec * NS_PER_S + nanosec
        for index, pose in enumerate(poses):
            score, track = f"{pose.score:.6f}", (int(pose.track_id), f"{pose.track_age:.6f}")
            self._csv.writerows(
                (stamp, ns, frame, index, part, PART_NAMES[part], f"{x:.3f}", f"{y:.3f}",
                 f"{s:.6f}", score, *track, *xyz)
                for part, ((x, y), s, xyz) in
                enumerate(zip(pose.positions.tolist(), pose.keypoint_scores.tolist(),
                              _points(pose))))
            self.rows += len(PART_NAMES)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _points(pose: Pose) -> tuple[tuple, ...]:
    """Return (x, y, z, valid) cells per keypoint: 0.1 mm, empty where not valid."""
    if pose.keypoints_3d is None:
        return _NO_3D
    return tuple((f"{x:.4f}", f"{y:.4f}", f"{z:.4f}", 1) if math.isfinite(x + y + z)
                 else ("", "", "", 0) for x, y, z in pose.keypoints_3d.tolist())
