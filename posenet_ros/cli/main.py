"""``posenet-ros``: estimate poses in images and videos, build models, analyse bags, benchmark."""
from __future__ import annotations

import argparse
from dataclasses import replace
import json
import logging
from pathlib import Path
import sys

from posenet_ros.cli import bag as bag_cli
from posenet_ros.cli import bench as bench_cli
from posenet_ros.cli import fleet as fleet_cli
from posenet_ros.cli.engine_options import add_engine_arguments, config_from_args
from posenet_ros.cli.tracking_options import add_tracking_arguments, tracker_config_from_args
from posenet_ros.core.config import VALID_STRIDES
from posenet_ros.families import MOVENET, NAMES_BY_FAMILY
from posenet_ros.outputs.marker_geometry import MarkerSettings

log = logging.getLogger("posenet_ros")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="posenet-ros", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    est = sub.add_parser("estimate", help="poses in images and videos")
    est.add_argument("paths", nargs="+", metavar="PATH", help="image or video files")
    add_engine_arguments(est)
    add_tracking_arguments(est)
    est.add_argument("--json", action="store_true", help="print one JSON array (tfjs pose format)")
    est.add_argument("--output", type=Path,
                     help="annotated image or video (a folder for several inputs)")
    est.add_argument("--min-keypoint-score", type=float,
                     default=MarkerSettings().min_keypoint_score,
                     help="drawing threshold, as the node's markers (default %(default)s)")
    est.set_defaults(func=_estimate)

    conv = sub.add_parser("convert", help="fetch the weights (once) and build the ONNX models "
                                          "(PoseNet per stride, MoveNet Lightning/Thunder/"
                                          "MultiPose); only stale ones are rebuilt")
    conv.add_argument("--weights", type=Path,
                      help="TF.js PoseNet model.json to convert (default: fetched weights); "
                           "MoveNet graphs beside it are converted too")
    conv.add_argument("--out", type=Path, help="output folder (default: $POSENET_ROS_HOME/models)")
    conv.add_argument("--strides", type=int, nargs="+", choices=VALID_STRIDES,
                      default=list(VALID_STRIDES))
    conv.add_argument("--movenet", nargs="*", choices=NAMES_BY_FAMILY[MOVENET], metavar="NAME",
                      default=list(NAMES_BY_FAMILY[MOVENET]),
                      help="MoveNet models to build (default all; none: --movenet alone)")
    conv.add_argument("--force", action="store_true",
                      help="rebuild even if the models are up to date")
    conv.add_argument("--int8", action="store_true",
                      help="also build int8 models (PoseNet and MoveNet), calibrated and "
                           "checked on the sample video; installed only where the guard passes")
    conv.set_defaults(func=_convert)

    # Subcommands living in their own modules; their heavy imports wait until they run.
    bag_cli.register(sub)
    fleet_cli.register(sub)
    bench_cli.register(sub)

    args = parser.parse_args(argv)
    # Our own messages at INFO; libraries (onnxruntime's quantiser logs to the root logger)
    # only from WARNING, unless -v.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    return int(args.func(args) or 0)


def _estimate(args: argparse.Namespace) -> int:
    from posenet_ros.core.errors import ImageError
    from posenet_ros.core.paths import MissingAssetError
    from posenet_ros.estimator import PoseEstimator
    from posenet_ros.imaging.files import is_video, iter_frames, video_fps
    from posenet_ros.imaging.video import AnnotatedOutput
    from posenet_ros.outputs.draw import draw_poses
    from posenet_ros.runtime.session import ModelError
    from posenet_ros.stages.pipeline import PipelineSettings, PosePipeline

    settings = PipelineSettings(config_from_args(args), tracker_config_from_args(args))
    try:
        estimator = PoseEstimator(settings.engine)
    except (MissingAssetError, ModelError) as exc:
        print(f"posenet-ros: {exc}", file=sys.stderr)
        return 2
    # A video is one stream in time (stamps from its frame rate): tracked, and MoveNet
    # follows the person; every still is a stream of its own, untracked. One model for both.
    videos = PosePipeline(settings, estimator)
    stills = PosePipeline(replace(settings, tracking=None), estimator)
    if args.output and len(args.paths) > 1:
        args.output.mkdir(parents=True, exist_ok=True)
    results, failed = [], 0
    for index, source in enumerate(args.paths):
        target = (args.output / Path(source).name if args.output and len(args.paths) > 1
                  else args.output)
        writer = AnnotatedOutput(target, source) if target else None
        video = is_video(source)
        period = 1.0 / video_fps(source) if video else 0.0
        pipeline = videos if video else stills
        try:
            for frame, rgb in iter_frames(source):
                stamp = frame * period if video else None
                poses = pipeline.process(rgb, stamp, stream=(index, source)).poses
                if writer:
                    writer.write(draw_poses(rgb, poses, args.min_keypoint_score))
                if args.json:
                    results.append({"source": source, "frame": frame,
                                    "poses": [p.to_dict() for p in poses]})
                else:
                    scores = ", ".join(
                        f"{p.score:.2f}" + (f" id {p.track_id}" if p.track_id else "")
                        for p in poses)
                    print(f"{source} frame {frame}: {len(poses)} pose(s) [{scores}]")
        except ImageError as exc:
            print(f"posenet-ros: {exc}", file=sys.stderr)
            failed += 1
        finally:
            if writer:
                writer.close()
    if args.json:
        json.dump(results, sys.stdout)
        sys.stdout.write("\n")
    return 1 if failed else 0


def _convert(args: argparse.Namespace) -> int:
    from posenet_ros.convert.fetch import FetchError, fetch_weights
    from posenet_ros.convert.graph_error import GraphError
    from posenet_ros.convert.models import build_movenet, convert, is_current
    from posenet_ros.core import paths

    try:
        weights = args.weights or fetch_weights()
    except FetchError as exc:
        print(f"posenet-ros: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out or paths.models_dir()
    for stride in args.strides:
        target = out_dir / paths.default_model(stride).name
        if not args.force and target.is_file() and is_current(target, weights):
            log.info("%s is up to date", target)
            continue
        convert(weights, stride, target)
    # MoveNet graphs sit beside the fetched PoseNet model.json; each is rebuilt only when stale.
    movenet_dir = Path(weights).parent
    if all((movenet_dir / f"{name}.json").is_file() for name in args.movenet):
        try:
            build_movenet(movenet_dir, out_dir, args.movenet, force=args.force)
        except GraphError as exc:
            print(f"posenet-ros: {exc}", file=sys.stderr)
            return 2
    else:
        log.info("no MoveNet graphs in %s: MoveNet models not built", movenet_dir)
    if args.int8:
        return _quantize(args.strides, args.movenet, out_dir)
    return 0


def _quantize(strides: list[int], movenet: list[str], out_dir: Path) -> int:
    import time

    from posenet_ros.core import paths
    from posenet_ros.imaging.files import spread_frames
    from posenet_ros.quantize.build import build_int8, CALIBRATION_FRAMES, QuantizationRefused

    video = paths.sample_video()
    if not video.is_file():
        print(f"posenet-ros: int8 calibration needs the sample video at {video} (make setup)",
              file=sys.stderr)
        return 2
    models = [(f"stride {s}", paths.default_model(s), paths.default_model(s, quantized=True))
              for s in strides]
    models += [(name, paths.movenet_model(name), paths.movenet_model(name, quantized=True))
               for name in movenet]
    frames = None
    tried = 0
    for label, fp32, int8 in models:
        fp32, int8 = out_dir / fp32.name, out_dir / int8.name
        if not fp32.is_file():
            log.info("no %s: no int8 for %s", fp32, label)
            continue
        if frames is None:      # one list for all: half calibrate, half are held out
            frames = spread_frames(video, CALIBRATION_FRAMES)
        start = time.monotonic()
        tried += 1
        try:
            guard = build_int8(fp32, int8, frames)
            if guard is None:
                log.info("%s is up to date", int8)
            else:
                print(f"{label}: {guard} ({time.monotonic() - start:.0f} s)")
        except QuantizationRefused as exc:
            # A guard refusal is a finding, not a failure: that model keeps fp32 only (int8
            # accuracy depends on the CPU: without VNNI, u8s8 products saturate).
            print(f"posenet-ros: {label}: {exc}; fp32 only ({time.monotonic() - start:.0f} s)",
                  file=sys.stderr)
    return 0 if tried else 1


if __name__ == "__main__":
    sys.exit(main())
