"""The files ``posenet-ros bag`` writes: the pose bag and the keypoint CSV.

Both are opened before the first frame and closed in ``finally`` by the analysis, so whatever
was processed before a fault or Ctrl-C is a valid, complete file: the MCAP gets its summary and
``metadata.yaml``, the CSV its last row.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from posenet_ros.bag.typestore import MARKER_ARRAY, POSE_ARRAY
from posenet_ros.core.keypoints import PART_NAMES
from posenet_ros.core.pose import Pose
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys.store import Typestore

# rosbag2 metadata version 8: the oldest rosbags writes, and the newest Humble's rosbag2 parses
# (version 9 stores QoS profiles as a list, which Humble's metadata reader rejects).
BAG_VERSION = 8
CSV_COLUMNS = ("stamp", "stamp_ns", "frame", "pose", "part_id", "part", "x", "y", "score",
               "pose_score", "track_id", "track_age", "x_3d", "y_3d", "z_3d", "valid_3d")
_NO_3D = (("", "", "", 0),) * len(PART_NAMES)


class PoseBag:
    """A rosbag2 MCAP bag with PoseArray (and optionally MarkerArray) messages.

    Message definitions are embedded (MCAP schemas from the typestore), so ``rosbags`` and
    ``ros2 bag`` read it without posenet_ros installed.
    """

    def __init__(self, path: Path, store: Typestore, pose_topic: str,
                 marker_topic: str | None = None) -> None:
        self.path = path
        self.count = 0
        self._store = store
        self._writer = Writer(path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._poses = self._writer.add_connection(pose_topic, POSE_ARRAY, typestore=store)
        self._markers = (self._writer.add_connection(marker_topic, MARKER_ARRAY, typestore=store)
                         if marker_topic else None)

    def write(self, log_time_ns: int, pose_array: object, markers: object | None = None) -> None:
        """One frame's messages, logged at ``log_time_ns`` (the input image's receive time)."""
        self._writer.write(self._poses, log_time_ns,
                           self._store.serialize_cdr(pose_array, POSE_ARRAY))
        if self._markers is not None and markers is not None:
            self._writer.write(self._markers, log_time_ns,
                               self._store.serialize_cdr(markers, MARKER_ARRAY))
        self.count += 1

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
        stamp, stamp_ns = f"{sec}.{nanosec:09d}", sec * 1_000_000_000 + nanosec
        for index, pose in enumerate(poses):
            score, track = f"{pose.score:.6f}", (int(pose.track_id), f"{pose.track_age:.6f}")
            self._csv.writerows(
                (stamp, stamp_ns, frame, index, part, PART_NAMES[part], f"{x:.3f}", f"{y:.3f}",
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
