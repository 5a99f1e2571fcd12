"""``posenet-ros bag``'s work: every frame of one image topic through the engine, into files.

Frames are read, deserialised and decoded on a background thread while the engine runs on the
previous one (both spend their time in C code that releases the GIL), so the tool runs as fast
as the slower of the two, not their sum. No frame is skipped except undecodable ones (and ones
the engine refuses), which are counted and reported: they get no PoseArray (the node publishes
nothing for them either), so every PoseArray in the output stands for a frame the engine saw.

Frames go through the node's own :class:`~posenet_ros.stages.pipeline.PosePipeline`: the
engine, tracking (on by default, as the node's ``tracking`` parameter) and, with a depth topic,
3D keypoints from the depth frame paired by stamp (:mod:`posenet_ros.bag.depth_stream`, read
beside the colour frames on the reader thread; only paired frames are decoded). So a bag
analysed offline and the same recording replayed through the node give the same ids and 3D.

Outputs (in ``out_dir``): ``poses/`` (rosbag2 MCAP bag, ``poses/poses.mcap``: PoseArray, and
``foxglove_msgs/ImageAnnotations`` beside the image topic unless turned off; with
``with_images`` the input image messages too, so Foxglove shows the video with skeletons from
that one file), ``keypoints.csv``,
``summary.json``, ``timeline.png`` and, with tracking, ``gestures.csv`` (who raised a hand,
put both hands up or pointed, as the reactions node confirms it: :mod:`posenet_ros.bag.
gestures`). They are written and closed even when reading stops at a
damaged part of the bag or on Ctrl-C: then they hold every frame before that point.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import logging
from pathlib import Path
import queue
import threading
import time

import numpy as np

from posenet_ros.bag import summary as summary_mod
from posenet_ros.bag.depth_stream import BagDepth
from posenet_ros.bag.depth_topics import DepthTopics, resolve_depth_topics
from posenet_ros.bag.gestures import GestureLog
from posenet_ros.bag.messages import MessageFactory
from posenet_ros.bag.outputs import KeypointCsv, PoseBag, prepare_outputs
from posenet_ros.bag.reader import BagReadError, ImageBag, TopicInfo
from posenet_ros.bag.tracks import TrackLog
from posenet_ros.bag.typestore import (annotation_msg_dir, COMPRESSED_IMAGE, IMAGE_ANNOTATIONS,
                                       typestore)
from posenet_ros.core.stamps import stamp_ns, stamp_seconds
from posenet_ros.estimator import PoseEstimator
from posenet_ros.imaging.ros_image import decode, ImageDecodeError
from posenet_ros.outputs.image_annotations import AnnotationClasses, build_image_annotations
from posenet_ros.outputs.marker_geometry import MarkerSettings
from posenet_ros.reactions.config import GestureConfig
from posenet_ros.stages.depth.lift import DepthConfig
from posenet_ros.stages.depth.sample import DepthSample
from posenet_ros.stages.pipeline import PipelineSettings, PosePipeline
from posenet_ros.stages.track.config import TrackerConfig

log = logging.getLogger(__name__)
OUTPUT_NAMES = {"bag": "poses", "csv": "keypoints.csv", "summary": "summary.json",
                "plot": "timeline.png", "gestures": "gestures.csv"}
PREFETCH = 8          # decoded frames waiting for the engine (bounded memory)
LOG_EVERY_ERRORS = 50  # undecodable frames: log the first few, then every n-th


@dataclass(frozen=True)
class BagJob:
    bag: Path
    topic: str
    out_dir: Path
    output_topic: str | None = None    # default: <image topic>/poses (see default_topics)
    markers: bool = False
    marker_topic: str | None = None    # default: <image topic>/pose_markers
    force: bool = False                # replace earlier outputs in out_dir
    tracking: TrackerConfig | None = field(default_factory=TrackerConfig)   # None: off
    depth: DepthTopics | None = None   # aligned depth: 3D keypoints
    depth_config: DepthConfig = field(default_factory=DepthConfig)
    annotations: bool = True           # foxglove_msgs/ImageAnnotations beside the image topic
    annotation_topic: str | None = None   # default: <image topic>/image_annotations
    with_images: bool = False          # copy the image topic into the output bag
    gestures: GestureConfig | None = field(default_factory=GestureConfig)  # None: off


@dataclass
class _Frame:
    index: int
    log_time: int
    header: object | None = None
    rgb: np.ndarray | None = None
    error: str | None = None
    depth: DepthSample | None = None
    raw: bytes | None = None           # the message as read (copied by with_images)


_END = object()


def default_topics(topic: TopicInfo) -> tuple[str, str]:
    """Return the PoseArray and MarkerArray topics for an image topic.

    They sit under the image topic, as image_transport names things: ``/cam/image_raw`` gives
    ``/cam/image_raw/poses``; a CompressedImage topic ``/cam/image_raw/compressed`` gives the
    same (its base topic's), so raw and compressed recordings of a camera analyse alike.
    """
    base = topic.name.rstrip("/")
    if topic.msgtype == COMPRESSED_IMAGE and base.endswith("/compressed"):
        base = base[:-len("/compressed")]
    return f"{base}/poses", f"{base}/pose_markers"


def annotation_topic_for(topic: TopicInfo) -> str:
    """Return the ImageAnnotations topic beside the PoseArray: ``<base>/image_annotations``."""
    return default_topics(topic)[0].rsplit("/", 1)[0] + "/image_annotations"


def _annotation_classes(store) -> AnnotationClasses | None:
    """Return the typestore's annotation classes; None (said once) without their files."""
    if IMAGE_ANNOTATIONS not in store.types:
        log.warning("no image annotations: foxglove_msgs' .msg files were found neither in the "
                    "checkout (interfaces/foxglove_msgs) nor under AMENT_PREFIX_PATH; install "
                    "ros-<distro>-foxglove-msgs or source a workspace that has it")
        return None
    t = store.types
    return AnnotationClasses(t[IMAGE_ANNOTATIONS], t["foxglove_msgs/msg/PointsAnnotation"],
                             t["foxglove_msgs/msg/TextAnnotation"],
                             t["foxglove_msgs/msg/Point2"], t["foxglove_msgs/msg/Color"])


def output_paths(out_dir: Path) -> dict[str, Path]:
    return {key: out_dir / name for key, name in OUTPUT_NAMES.items()}


def analyze(job: BagJob, estimator: PoseEstimator,
            on_progress: Callable[[int, int], None] | None = None,
            on_frame: Callable[[int, int, object, dict[int, str]], None] | None = None) -> dict:
    """Run the job; returns the summary (also written to ``summary.json``).

    ``on_frame`` gets each PoseArray written (stamp ns, receive time ns, the message, the
    confirmed gestures by track id): the fleet's rows, without reading the bag back.

    Raises BagError before writing anything when the bag, topic or output folder cannot be
    used. A fault while reading ends the run early with outputs intact and
    ``summary["fault"]`` set; Ctrl-C does the same, then re-raises KeyboardInterrupt.
    """
    outputs = output_paths(job.out_dir)
    with ImageBag(job.bag) as bag:
        topic = bag.select(job.topic)
        depth_topics = resolve_depth_topics(bag, topic, job.depth) if job.depth else None
        prepare_outputs(job.out_dir, outputs.values(), job.force, [job.bag])
        store = typestore()
        poses_default, markers_default = default_topics(topic)
        pose_topic = job.output_topic or poses_default
        marker_topic = (job.marker_topic or markers_default) if job.markers else None
        min_score = MarkerSettings().min_keypoint_score
        factory = MessageFactory(store, min_score)
        annotation_classes = _annotation_classes(store) if job.annotations else None
        annotation_topic = ((job.annotation_topic or annotation_topic_for(topic))
                            if annotation_classes else None)
        timeline, tracks = summary_mod.Timeline(), TrackLog()
        pipeline = PosePipeline(PipelineSettings(
            estimator.config, job.tracking, job.depth_config if job.depth else None), estimator)
        pose_bag = PoseBag(outputs["bag"], store, pose_topic, marker_topic, annotation_topic,
                           (topic.name, topic.msgtype) if job.with_images else None)
        csv_out = depth = reader = gestures = None
        if job.gestures is None or job.tracking is None:    # no identity to give a gesture
            outputs.pop("gestures")
        fault, interrupted, read, engine_s = None, False, 0, 0.0
        stop = threading.Event()
        frames: queue.Queue = queue.Queue(maxsize=PREFETCH)
        start = time.perf_counter()
        try:
            csv_out = KeypointCsv(outputs["csv"])
            if "gestures" in outputs:
                gestures = GestureLog(job.gestures, outputs["gestures"])
            if depth_topics:
                depth = BagDepth(job.bag, *depth_topics, store, job.depth_config.tolerance_s)
            reader = threading.Thread(target=_read_frames, name="posenet-bag-reader",
                                      daemon=True, args=(bag, topic, store, frames, stop, depth))
            reader.start()
            while (item := frames.get()) is not _END:
                if isinstance(item, BagReadError):
                    fault = str(item)
                    break
                read += 1
                if item.header is not None:     # deserialised: a valid message to copy
                    pose_bag.write_image(item.log_time, item.raw)
                if item.error is None:
                    try:
                        frame = pipeline.process(item.rgb, stamp_seconds(item.header),
                                                 depth=item.depth)
                    except ValueError as err:   # ImageError (e.g. a side too long): this frame
                        item.error = f"pose estimation failed: {err}"
                if item.error is not None:
                    _report_error(timeline, item)
                else:
                    engine_s += frame.engine.times.total
                    width, height = frame.engine.image_size
                    header, poses = item.header, frame.poses
                    msg = factory.pose_array(frame, header)
                    held = gestures.add(item.index, msg) if gestures is not None else {}
                    pose_bag.write(item.log_time, msg,
                                   factory.marker_array(poses, header, width, height)
                                   if marker_topic else None,
                                   build_image_annotations(annotation_classes, poses,
                                                           header.stamp, min_score)
                                   if annotation_classes else None)
                    csv_out.write(header.stamp.sec, header.stamp.nanosec, item.index, poses)
                    ns = stamp_ns(header)
                    timeline.add(ns, item.log_time, poses)
                    tracks.add(ns, item.log_time, poses)
                    if on_frame:
                        on_frame(ns, item.log_time, msg, held)
                if on_progress:
                    on_progress(read, topic.count)
        except KeyboardInterrupt:
            interrupted, fault = True, "interrupted (Ctrl-C) before the end of the bag"
        finally:
            stop.set()
            if reader is not None:
                reader.join(timeout=10)
            elapsed = time.perf_counter() - start
            pose_bag.close()
            if csv_out is not None:
                csv_out.close()
            if depth is not None:
                depth.close()
            if gestures is not None:
                gestures.close()
        result = _summary(job, bag, topic, estimator, timeline, outputs, pose_topic, marker_topic,
                          read, elapsed, engine_s, fault)
        result["annotation_topic"] = annotation_topic
        result["annotation_definitions"] = str(annotation_msg_dir()) if annotation_topic else None
        result["images_copied"] = job.with_images
        result["tracking"] = summary_mod.tracking_summary(pipeline.tracking, tracks)
        result["depth"] = summary_mod.depth_summary(depth, pipeline.counts(), job.depth_config)
        result["gestures"] = gestures.statistics() if gestures is not None else None
        summary_mod.write_json(outputs["summary"], result)
        summary_mod.plot_timeline(outputs["plot"], timeline, f"{job.bag.name} {topic.name}",
                                  tracks if job.tracking else None)
    if interrupted:
        raise KeyboardInterrupt
    return result


def _read_frames(bag: ImageBag, topic: TopicInfo, store, frames: queue.Queue,
                 stop: threading.Event, depth: BagDepth | None) -> None:
    """Reader thread: bag → deserialised, decoded frames (or errors) → queue, then _END.

    With ``depth``, each decoded frame also gets its depth sample (paired and decoded here).
    """
    try:
        for index, (log_time, raw) in enumerate(bag.messages(topic)):
            frame = _decode(index, log_time, raw, topic.msgtype, store)
            if depth is not None and frame.error is None:
                frame.depth = depth.sample(stamp_seconds(frame.header), log_time)
            if not _put(frames, frame, stop):
                return
        _put(frames, _END, stop)
    except BagReadError as err:
        if _put(frames, err, stop):
            _put(frames, _END, stop)
    except Exception as err:  # noqa: BLE001 - must reach the main thread, not die silently
        log.debug("reader thread failed", exc_info=True)
        if _put(frames, BagReadError(f"reading {bag.path} failed: {err}"), stop):
            _put(frames, _END, stop)


def _decode(index: int, log_time: int, raw: bytes, msgtype: str, store) -> _Frame:
    try:
        msg = store.deserialize_cdr(raw, msgtype)
    except Exception as err:  # noqa: BLE001 - corrupt CDR is one bad frame, not a crash
        return _Frame(index, log_time, error=f"message cannot be deserialised as {msgtype}: {err}")
    try:
        return _Frame(index, log_time, header=msg.header, rgb=decode(msg), raw=raw)
    except ImageDecodeError as err:
        return _Frame(index, log_time, header=msg.header, error=str(err), raw=raw)


def _put(frames: queue.Queue, item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            frames.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _report_error(timeline: summary_mod.Timeline, frame: _Frame) -> None:
    timeline.add_error(frame.index, frame.log_time, frame.error)
    if timeline.error_count <= 3 or timeline.error_count % LOG_EVERY_ERRORS == 0:
        log.warning("frame %d skipped (%d undecodable so far): %s", frame.index,
                    timeline.error_count, frame.error)


def _summary(job: BagJob, bag: ImageBag, topic: TopicInfo, estimator: PoseEstimator,
             timeline: summary_mod.Timeline, outputs: dict[str, Path], pose_topic: str,
             marker_topic: str | None, read: int, elapsed: float, engine_s: float,
             fault: str | None) -> dict:
    stats = timeline.statistics()
    cfg = estimator.config
    return {
        "input": str(job.bag), "topic": topic.name, "input_type": topic.msgtype,
        "messages_in_bag": topic.listed if topic.listed is not None else topic.count,
        "messages_read": read,
        "recovered": bag.recovered,
        "output_topic": pose_topic, "marker_topic": marker_topic,
        "pose_arrays_written": stats["frames"],
        **stats,
        "elapsed_s": elapsed,
        "frames_per_second": read / elapsed if elapsed > 0 else 0.0,
        "engine_ms_per_frame": 1000 * engine_s / stats["frames"] if stats["frames"] else 0.0,
        "engine": {"model": estimator.model_name, "providers": estimator.providers,
                   "decoder": cfg.decoder, "output_stride": cfg.output_stride,
                   "input_resolution": cfg.input_resolution,
                   "image_scale_factor": cfg.image_scale_factor,
                   "flip_horizontal": cfg.flip_horizontal, "max_detections": cfg.max_detections,
                   "score_threshold": cfg.score_threshold, "nms_radius": cfg.nms_radius},
        "complete": fault is None,
        "fault": fault,
        "outputs": {key: str(path) for key, path in outputs.items()},
    }
