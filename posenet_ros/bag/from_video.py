"""``posenet-ros bag-from-video``: a camera recording as a rosbag2, for demos, tests and users.

Each video frame becomes a ``sensor_msgs/Image`` (rgb8 or bgr8) or a ``CompressedImage``
(JPEG, image_transport's ``compressed`` layout) plus a ``CameraInfo`` with the same header.
Stamps start at a fixed epoch and advance by ``1/rate`` exactly (integer nanoseconds, no drift),
so a bag made twice from the same video is identical; each message is logged at its stamp,
as a recorder on the camera's clock would have.
"""
from __future__ import annotations

from dataclasses import dataclass
import logging
from pathlib import Path

import cv2
import numpy as np
from posenet_ros.bag.outputs import BAG_VERSION
from posenet_ros.bag.typestore import CAMERA_INFO, COMPRESSED_IMAGE, IMAGE, typestore
from posenet_ros.camera.pinhole import guess_pinhole
from posenet_ros.core.errors import ImageError
from posenet_ros.imaging.files import iter_video, video_fps
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

log = logging.getLogger(__name__)
EPOCH_NS = 1_700_000_000 * 1_000_000_000   # 2023-11-14T22:13:20Z: recognisable, not "now"
JPEG_QUALITY = 90


@dataclass(frozen=True)
class VideoBagJob:
    video: Path
    bag: Path
    topic: str = "/camera/image_raw"      # compressed: <topic>/compressed, as image_transport
    compressed: bool = False
    encoding: str = "bgr8"
    rate: float | None = None             # frames/s for the stamps; None: the video's own
    frame_id: str = "camera_optical_frame"
    max_frames: int | None = None
    storage: str = "mcap"
    file_compression: bool = False        # zstd the storage file whole, as rosbag2 can


def camera_info_fields(width: int, height: int) -> dict:
    """Make up a plausible pinhole CameraInfo (without header): the camera node's guess."""
    k, p = guess_pinhole(width, height)
    return {"height": height, "width": width, "distortion_model": "plumb_bob",
            "d": np.zeros(5), "k": k.ravel(), "r": np.eye(3).ravel(), "p": p.ravel(),
            "binning_x": 0, "binning_y": 0}


def write_video_bag(job: VideoBagJob) -> dict:
    """Write the bag; return {frames, topic, camera_info_topic, rate, size, msgtype}.

    Raises ImageError for an unreadable video and ValueError for bad settings, both before
    anything is written.
    """
    if job.storage not in ("mcap", "sqlite3"):
        raise ValueError(f"storage {job.storage!r}: use mcap or sqlite3")
    if job.encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"encoding {job.encoding!r}: use rgb8 or bgr8")
    if job.max_frames is not None and job.max_frames < 1:
        raise ValueError(f"max frames {job.max_frames}: must be at least 1")
    if job.bag.exists():
        raise ValueError(f"{job.bag} exists already; choose another path or remove it")
    rate = job.rate or video_fps(job.video)
    if not 0 < rate <= 10_000:
        raise ValueError(f"rate {rate}: must be in (0, 10000] frames/s")
    frames = iter_video(job.video)
    first = next(frames, None)    # ImageError for unreadable files, before the bag exists
    if first is None:
        raise ImageError(f"{job.video}: video has no frames")

    store = typestore()
    base = "/" + job.topic.strip("/")
    image_topic = f"{base}/compressed" if job.compressed else base
    info_topic = base.rsplit("/", 1)[0] + "/camera_info"
    writer = Writer(job.bag, version=BAG_VERSION,
                    storage_plugin=StoragePlugin.MCAP if job.storage == "mcap"
                    else StoragePlugin.SQLITE3)
    if job.file_compression:
        writer.set_compression(CompressionMode.FILE, CompressionFormat.ZSTD)
    writer.open()
    count = 0
    try:
        msgtype = COMPRESSED_IMAGE if job.compressed else IMAGE
        image_conn = writer.add_connection(image_topic, msgtype, typestore=store)
        info_conn = writer.add_connection(info_topic, CAMERA_INFO, typestore=store)
        height, width = first.shape[:2]
        info = camera_info_fields(width, height)
        t = store.types
        for rgb in _chain(first, frames):
            if job.max_frames is not None and count >= job.max_frames:
                break
            stamp_ns = EPOCH_NS + round(count * 1e9 / rate)
            header = t["std_msgs/msg/Header"](
                stamp=t["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000,
                                                       nanosec=stamp_ns % 1_000_000_000),
                frame_id=job.frame_id)
            image = _image_msg(store, header, rgb, job.compressed, job.encoding)
            writer.write(image_conn, stamp_ns, store.serialize_cdr(image, msgtype))
            roi = t["sensor_msgs/msg/RegionOfInterest"](
                x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
            writer.write(info_conn, stamp_ns,
                         store.serialize_cdr(t[CAMERA_INFO](header=header, roi=roi, **info),
                                             CAMERA_INFO))
            count += 1
    finally:
        writer.close()
    log.info("wrote %d frames of %s to %s", count, job.video, job.bag)
    return {"frames": count, "topic": image_topic, "camera_info_topic": info_topic,
            "rate": rate, "size": [int(width), int(height)], "msgtype": msgtype}


def _chain(first: np.ndarray, rest):
    yield first
    yield from rest


def _image_msg(store, header, rgb: np.ndarray, compressed: bool, encoding: str) -> object:
    t = store.types
    if compressed:
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ImageError("JPEG encoding failed")
        return t[COMPRESSED_IMAGE](header=header, format=f"{encoding}; jpeg compressed bgr8",
                                   data=jpeg.ravel())
    pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if encoding == "bgr8" else rgb
    height, width = rgb.shape[:2]
    return t[IMAGE](header=header, height=height, width=width, encoding=encoding,
                    is_bigendian=0, step=width * 3, data=np.ascontiguousarray(pixels).ravel())
