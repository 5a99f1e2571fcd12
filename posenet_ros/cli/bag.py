"""``posenet-ros bag`` and ``posenet-ros bag-from-video`` (plugged into posenet_ros.cli.main).

Exit codes: 0 done; 1 bad engine settings and 2 unusable bag, topic, output folder or model
(nothing written; also an output folder that is or sits inside the input, or holds it with
--force, and outputs already there, symlinks included, without --force); 3 the bag is damaged
(truncated, corrupt or crafted: a chunk over the size limit, a record too short, a name that is
not UTF-8): the outputs are valid and hold every frame before the damage; 130 interrupted
(outputs hold what was processed).
"""
from __future__ import annotations

import argparse
from dataclasses import fields
import logging
from pathlib import Path
import sys

from posenet_ros.cli.engine_options import add_engine_arguments, config_from_args
from posenet_ros.cli.tracking_options import add_tracking_arguments, tracker_config_from_args
from posenet_ros.reactions.config import GestureConfig

log = logging.getLogger(__name__)
EXIT_UNUSABLE, EXIT_DAMAGED, EXIT_INTERRUPTED = 2, 3, 130
GESTURE_OPTIONS = ("raise_margin", "on_frames", "off_frames")   # GestureConfig's, as flags


def register(subparsers: argparse._SubParsersAction) -> None:
    bag = subparsers.add_parser(
        "bag", help="poses for every frame of an image topic in a rosbag2 (no ROS needed)",
        description="Estimate poses on every frame of one image topic of a rosbag2 (MCAP or "
                    "sqlite3; sensor_msgs/Image or CompressedImage) and write OUT_DIR/poses "
                    "(MCAP bag of posenet_ros/msg/PoseArray, one per decodable frame, with the "
                    "frame's header, logged at its receive time), keypoints.csv, summary.json, "
                    "timeline.png and, with tracking, gestures.csv.")
    bag.add_argument("input", type=Path, metavar="IN", help="bag folder, .mcap or .db3 file")
    bag.add_argument("--topic", required=True, help="image topic to analyse")
    bag.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR")
    bag.add_argument("--output-topic",
                     help="PoseArray topic (default: <topic>/poses; for a CompressedImage "
                          "topic <base>/compressed: <base>/poses)")
    bag.add_argument("--markers", action="store_true",
                     help="also write visualization_msgs/MarkerArray (image-plane convention)")
    bag.add_argument("--marker-topic",
                     help="MarkerArray topic (default: beside the PoseArray, pose_markers)")
    bag.add_argument("--no-annotations", dest="annotations", action="store_false",
                     help="leave out foxglove_msgs/ImageAnnotations (skeletons and ids drawn "
                     "over the image in Foxglove or Lichtblick)")
    bag.add_argument("--annotation-topic",
                     help="ImageAnnotations topic (default: beside the PoseArray, "
                     "image_annotations)")
    bag.add_argument("--with-images", action="store_true",
                     help="copy the image topic into the output bag, so that one file shows the "
                     "video with its annotations")
    bag.add_argument("--force", action="store_true", help="replace outputs already in OUT_DIR")
    add_engine_arguments(bag)
    add_tracking_arguments(bag)
    add_depth_arguments(bag)
    add_gesture_arguments(bag)
    bag.set_defaults(func=run_bag)

    video = subparsers.add_parser(
        "bag-from-video", help="write a video as a rosbag2 of camera images + CameraInfo",
        description="Write each frame of VIDEO as sensor_msgs/Image (or CompressedImage JPEG) "
                    "with a CameraInfo; stamps start at a fixed epoch and advance by 1/rate.")
    video.add_argument("video", type=Path, metavar="VIDEO")
    video.add_argument("-o", "--output", type=Path, required=True, metavar="BAG",
                       help="bag folder to create (must not exist)")
    video.add_argument("--compressed", action="store_true",
                       help="JPEG CompressedImage on <topic>/compressed")
    video.add_argument("--topic", default="/camera/image_raw", help="image topic")
    video.add_argument("--encoding", choices=("bgr8", "rgb8"), default="bgr8",
                       help="raw image encoding")
    video.add_argument("--rate", type=float, help="frames/s of the stamps (default: video's)")
    video.add_argument("--frame-id", default="camera_optical_frame")
    video.add_argument("--max-frames", type=int, help="stop after N frames")
    video.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    video.set_defaults(func=run_bag_from_video)


def add_depth_arguments(parser: argparse.ArgumentParser) -> None:
    """``--depth-topic`` and its CameraInfo topics; defaults from DepthConfig (the node's)."""
    from posenet_ros.stages.depth.lift import DepthConfig
    g = parser.add_argument_group("depth (3D keypoints from an aligned depth image)")
    g.add_argument("--depth-topic",
                   help="sensor_msgs/Image depth registered to the colour image: 16UC1 "
                        "millimetres or 32FC1 metres; other encodings are refused and counted")
    g.add_argument("--camera-info-topic",
                   help="the colour camera's CameraInfo (K, D), needed for 3D (default: "
                        "camera_info beside the image topic)")
    g.add_argument("--depth-camera-info-topic",
                   help="the depth image's own CameraInfo, when its size or intrinsics differ "
                        "(default: depth pixels scale with the image size)")
    g.add_argument("--depth-tolerance", type=float, default=DepthConfig().tolerance_s,
                   help="largest colour-depth stamp difference paired, s (default "
                        "%(default)s, the node's depth_tolerance)")


def depth_from_args(args: argparse.Namespace):
    """(DepthTopics or None, DepthConfig) from the arguments; ConfigError for bad values."""
    from posenet_ros.bag.depth_topics import DepthTopics
    from posenet_ros.stages.depth.lift import DepthConfig
    config = DepthConfig(tolerance_s=args.depth_tolerance)
    if not args.depth_topic:
        for option in ("camera_info_topic", "depth_camera_info_topic"):
            if getattr(args, option):
                raise ValueError(f"--{option.replace('_', '-')} is only used with --depth-topic")
        return None, config
    return DepthTopics(args.depth_topic, args.camera_info_topic,
                       args.depth_camera_info_topic), config


def add_gesture_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-gestures`` and the detector's main settings; defaults are GestureConfig's."""
    g = parser.add_argument_group(
        "gestures (raised hand, both hands up, pointing: the reactions node's detector; "
        "needs tracking)")
    g.add_argument("--gestures", action=argparse.BooleanOptionalAction, default=True,
                   help="write gestures.csv and the summary's gestures (default on)")
    settings = {f.name: f for f in fields(GestureConfig)}
    for name in GESTURE_OPTIONS:
        item = settings[name]
        g.add_argument(f"--gesture-{name.replace('_', '-')}", type=type(item.default),
                       metavar="N", help=f"{item.metadata['description']} (default "
                                         f"{item.default})")


def gestures_from_args(args: argparse.Namespace) -> GestureConfig | None:
    """Build the gesture settings the arguments ask for; None with ``--no-gestures``."""
    if not args.gestures:
        return None
    given = {name: getattr(args, f"gesture_{name}") for name in GESTURE_OPTIONS}
    return GestureConfig(**{k: v for k, v in given.items() if v is not None})


def run_bag(args: argparse.Namespace) -> int:
    from posenet_ros.bag.analyze import analyze, BagJob, output_paths
    from posenet_ros.bag.outputs import check_outputs, remove_links
    from posenet_ros.bag.progress import Progress
    from posenet_ros.bag.reader import BagError
    from posenet_ros.bag.summary import format_summary
    from posenet_ros.bag.typestore import MessageDefinitionsNotFound
    from posenet_ros.estimator import PoseEstimator
    from posenet_ros.core.paths import MissingAssetError
    from posenet_ros.runtime.session import ModelError

    config = config_from_args(args)
    try:
        depth, depth_config = depth_from_args(args)
        gestures = gestures_from_args(args)
    except ValueError as exc:     # ConfigError too
        print(f"posenet-ros bag: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    job = BagJob(bag=args.input, topic=args.topic, out_dir=args.output,
                 output_topic=args.output_topic, markers=args.markers,
                 marker_topic=args.marker_topic, force=args.force,
                 tracking=tracker_config_from_args(args), depth=depth,
                 depth_config=depth_config, annotations=args.annotations,
                 annotation_topic=args.annotation_topic, with_images=args.with_images,
                 gestures=gestures)
    progress: Progress | None = None

    def on_progress(done: int, total: int) -> None:
        nonlocal progress
        if progress is None:
            progress = Progress(total)
        progress.update(done)

    try:
        # Before the model loads and before analyze removes anything: an output folder that
        # is or holds the recording, or links planted in it, must not cost the user data.
        existing = check_outputs(job.out_dir, list(output_paths(job.out_dir).values()),
                                 job.force, [job.bag])
        if job.force:
            remove_links(existing)
        estimator = PoseEstimator(config)
        summary = analyze(job, estimator, on_progress)
    except (BagError, MissingAssetError, ModelError, MessageDefinitionsNotFound) as exc:
        print(f"posenet-ros bag: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as exc:      # output folder not writable, disk full
        print(f"posenet-ros bag: cannot write the outputs in {args.output}: {exc}",
              file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(f"\nposenet-ros bag: interrupted; outputs in {args.output} hold the frames "
              f"processed so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if progress is not None:
            progress.close()
    print(format_summary(summary))
    if summary["fault"]:
        print(f"posenet-ros bag: {summary['fault']}. Outputs in {args.output} are valid and "
              f"hold the {summary['frames']} frames before it.", file=sys.stderr)
        return EXIT_DAMAGED
    return 0


def run_bag_from_video(args: argparse.Namespace) -> int:
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    from posenet_ros.core.errors import ImageError

    job = VideoBagJob(video=args.video, bag=args.output, topic=args.topic,
                      compressed=args.compressed, encoding=args.encoding, rate=args.rate,
                      frame_id=args.frame_id, max_frames=args.max_frames, storage=args.storage)
    try:
        result = write_video_bag(job)
    except (ImageError, ValueError) as exc:
        print(f"posenet-ros bag-from-video: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"{args.output}: {result['frames']} frames {result['size'][0]}x{result['size'][1]} "
          f"at {result['rate']:g} frames/s on {result['topic']} ({result['msgtype']}) "
          f"+ {result['camera_info_topic']}")
    return 0
