"""posenet_node's stages after the engine, for a bag: tracking (ids), then 3D (paired depth).

They are :mod:`posenet_ros.stages.people`'s, run as the node's worker runs them: one tracker
over the topic's header stamps (seconds) in bag order, then the poses placed in 3D with the depth frame
paired to the colour frame. So a bag analysed offline and the same recording replayed through
the node give the same ids and the same 3D.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from posenet_ros.bag.depth_stream import DepthSample, MAX_EXAMPLES, STATUSES
from posenet_ros.bag.reader import BagError, ImageBag, TopicInfo
from posenet_ros.bag.typestore import CAMERA_INFO, COMPRESSED_IMAGE, IMAGE
from posenet_ros.core.pose import Pose
from posenet_ros.core.result import FrameResult
from posenet_ros.stages.depth.lift import DepthConfig
from posenet_ros.stages.people import place_in_3d, track
from posenet_ros.stages.track.tracker import PoseTracker, TrackerConfig


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


class PeopleStages:
    """Tracking and 3D after the engine, with the counts the summary reports."""

    def __init__(self, tracking: TrackerConfig | None, depth: DepthConfig | None) -> None:
        self.tracker = PoseTracker(tracking) if tracking is not None else None
        self.depth_config = depth
        self.depth_counts: Counter[str] = Counter(dict.fromkeys(STATUSES, 0))
        self.depth_examples: list[dict] = []

    @property
    def flags(self) -> dict[str, bool]:
        """Return the PoseArray stage flags other than depth (which is per frame)."""
        return {"tracking": self.tracker is not None,
                "smoothing": self.tracker is not None and self.tracker.config.smoothing}

    def run(self, result: FrameResult, stamp_s: float, frame: int,
            sample: DepthSample | None) -> tuple[list[Pose], bool]:
        """Return the frame's poses after the stages, and whether they carry 3D."""
        poses = list(result.poses)
        if self.tracker is not None:
            poses = track(self.tracker, poses, stamp_s)
        if sample is None:
            return poses, False
        self.depth_counts[sample.status] += 1
        if sample.reason is not None and len(self.depth_examples) < MAX_EXAMPLES:
            self.depth_examples.append({"frame": frame, "status": sample.status,
                                        "reason": sample.reason})
        if sample.status != "paired":
            return poses, False
        return place_in_3d(poses, sample.depth, result.image_size, sample.camera,
                           self.depth_config, sample.depth_camera), True
