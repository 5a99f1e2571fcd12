"""A rosbags Typestore that knows posenet_ros's own messages, built from the ``.msg`` files.

Reading and writing bags must not need a ROS build, so the message classes come from the
``.msg`` sources (the same files rosidl compiles) on top of ROS 2 Humble's standard types.
Image, CameraInfo, Header and Marker hash identically in Humble, Jazzy and Kilted, so bags
written with this store play on all three.

``foxglove_msgs/msg/ImageAnnotations`` (and the types it holds) join when their ``.msg`` files are
found (:func:`annotation_msg_dir`): the checkout's ``interfaces/foxglove_msgs`` or an installed
foxglove_msgs; without them the bag tool writes no annotations and says why.
"""
from __future__ import annotations

from functools import lru_cache
import os
from pathlib import Path
import sys

from rosbags.typesys import get_types_from_msg, get_typestore, Stores
from rosbags.typesys.store import Typestore

PACKAGE = "posenet_ros"
MESSAGES = ("Keypoint", "Pose", "PoseArray")
POSE_ARRAY = f"{PACKAGE}/msg/PoseArray"
POSE = f"{PACKAGE}/msg/Pose"
KEYPOINT = f"{PACKAGE}/msg/Keypoint"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
MARKER_ARRAY = "visualization_msgs/msg/MarkerArray"
FOXGLOVE = "foxglove_msgs"
# In dependency order: each type before the types that hold it.
FOXGLOVE_MESSAGES = ("Point2", "Color", "CircleAnnotation", "PointsAnnotation", "TextAnnotation",
                     "ImageAnnotations")
IMAGE_ANNOTATIONS = f"{FOXGLOVE}/msg/ImageAnnotations"
BASE_STORE = Stores.ROS2_HUMBLE
SOURCE_ROOT = Path(__file__).resolve().parents[2]   # the checkout, when run from source


class MessageDefinitionsNotFound(FileNotFoundError):
    """posenet_ros's ``.msg`` files are neither in the source tree nor in an ament prefix."""


def msg_search_path() -> list[Path]:
    """List where the ``.msg`` files may be, in order of preference.

    The source checkout this module lives in, then ``share/posenet_ros/msg`` under each
    ``$AMENT_PREFIX_PATH`` entry (colcon install or /opt/ros), then under ``sys.prefix``
    (a pip install's data files).
    """
    candidates = [SOURCE_ROOT / "msg"]
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(Path(prefix) / "share" / PACKAGE / "msg")
    candidates.append(Path(sys.prefix) / "share" / PACKAGE / "msg")
    return candidates


def find_msg_dir() -> Path:
    """Return the first folder on :func:`msg_search_path` holding all posenet_ros messages."""
    searched = msg_search_path()
    for folder in searched:
        if all((folder / f"{name}.msg").is_file() for name in MESSAGES):
            return folder
    raise MessageDefinitionsNotFound(
        f"posenet_ros message definitions ({', '.join(m + '.msg' for m in MESSAGES)}) not found; "
        f"searched: {', '.join(str(p) for p in searched)}. Run from the source checkout or "
        f"source the colcon install (install/setup.bash).")


def annotation_msg_dir() -> Path | None:
    """Return the first folder holding foxglove_msgs' annotation ``.msg`` files, or None.

    The checkout's ``interfaces/foxglove_msgs/msg``, then ``share/foxglove_msgs/msg`` under each
    ``$AMENT_PREFIX_PATH`` entry (the real package, or the stand-in the Makefile built).
    """
    candidates = [SOURCE_ROOT / "interfaces" / FOXGLOVE / "msg"]
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(Path(prefix) / "share" / FOXGLOVE / "msg")
    for folder in candidates:
        if all((folder / f"{name}.msg").is_file() for name in FOXGLOVE_MESSAGES):
            return folder
    return None


@lru_cache(maxsize=None)
def typestore(msg_dir: Path | None = None) -> Typestore:
    """ROS 2 Humble's types plus ``posenet_ros/msg/{Keypoint,Pose,PoseArray}`` (cached).

    And foxglove_msgs' image annotations where :func:`annotation_msg_dir` finds them.
    """
    folder = msg_dir or find_msg_dir()
    store = get_typestore(BASE_STORE)
    types = {}
    for name in MESSAGES:
        text = (folder / f"{name}.msg").read_text(encoding="utf-8")
        types.update(get_types_from_msg(text, f"{PACKAGE}/msg/{name}"))
    store.register(types)
    foxglove = annotation_msg_dir()
    if foxglove is not None:
        for name in FOXGLOVE_MESSAGES:    # one at a time: each refers to the ones before
            text = (foxglove / f"{name}.msg").read_text(encoding="utf-8")
            store.register(get_types_from_msg(text, f"{FOXGLOVE}/msg/{name}"))
    return store
