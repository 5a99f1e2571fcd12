"""Where a bag's aligned depth is: the depth image and CameraInfo topics beside a colour topic."""
from __future__ import annotations

from dataclasses import dataclass

from posenet_ros.bag.reader import BagError, ImageBag, TopicInfo
from posenet_ros.bag.typestore import CAMERA_INFO, COMPRESSED_IMAGE, IMAGE


@dataclass(frozen=True)
class DepthTopics:
    """Where a bag's aligned depth is: the depth image and the CameraInfo topics."""

    depth: str                               # sensor_msgs/Image, 16UC1 mm or 32FC1 m
    camera_info: str | None = None           # colour CameraInfo; None: beside the image topic
    depth_camera_info: str | None = None     # optional: the depth image's own intrinsics


def resolve_depth_topics(bag: ImageBag, image: TopicInfo, wanted: DepthTopics
                         ) -> tuple[TopicInfo, TopicInfo, TopicInfo | None]:
    """Find the depth, colour CameraInfo and depth CameraInfo topics; BagError naming the fix.

    Without ``camera_info`` the colour camera's is the ``camera_info`` beside the image topic
    (``/cam/image_raw`` -> ``/cam/camera_info``), as image_transport names it.
    """
    depth = _find(bag, wanted.depth, IMAGE, "--depth-topic")
    if wanted.camera_info is None:
        base = image.name
        if image.msgtype == COMPRESSED_IMAGE and base.endswith("/compressed"):
            base = base[:-len("/compressed")]
        sibling = base.rsplit("/", 1)[0] + "/camera_info"
        if not any(t.name == sibling and t.msgtype == CAMERA_INFO for t in bag.topics):
            infos = "; ".join(str(t) for t in bag.topics if t.msgtype == CAMERA_INFO) or "none"
            raise BagError(f"--depth-topic needs the colour camera's CameraInfo (its K) to "
                           f"place keypoints in 3D, and {sibling} is not in the bag: pass "
                           f"--camera-info-topic. CameraInfo topics in the bag: {infos}")
        camera_info = _find(bag, sibling, CAMERA_INFO, "--camera-info-topic")
    else:
        camera_info = _find(bag, wanted.camera_info, CAMERA_INFO, "--camera-info-topic")
    depth_info = (_find(bag, wanted.depth_camera_info, CAMERA_INFO, "--depth-camera-info-topic")
                  if wanted.depth_camera_info else None)
    return depth, camera_info, depth_info


def _find(bag: ImageBag, name: str, msgtype: str, option: str) -> TopicInfo:
    wanted = "/" + name.lstrip("/")
    for topic in bag.topics:
        if "/" + topic.name.lstrip("/") == wanted:
            if topic.msgtype != msgtype:
                raise BagError(f"{option} {name} carries {topic.msgtype}, not {msgtype}"
                               + (" (compressed depth is not supported: record the raw "
                                  "16UC1/32FC1 topic)" if msgtype == IMAGE else ""))
            return topic
    listing = "; ".join(str(t) for t in bag.topics if t.msgtype == msgtype) or "none"
    raise BagError(f"{option} {name} is not in bag {bag.path}. {msgtype} topics in the bag: "
                   f"{listing}")
