"""Engine options shared by every ``posenet-ros`` subcommand that estimates poses."""
from __future__ import annotations

import argparse
from dataclasses import fields

from posenet_ros.core.config import (
    ConfigError, DECODERS, EstimatorConfig, VALID_STRIDES)
from posenet_ros.families import check_model, MODEL_NAMES

# The engine's defaults, read from EstimatorConfig so that the CLI cannot drift from them.
DEFAULTS = {f.name: f.default for f in fields(EstimatorConfig)}


def parse_resolution(text: str) -> int | tuple[int, int]:
    """``257`` (square) or ``641x481`` (width x height)."""
    try:
        if "x" in text.lower():
            w, h = text.lower().split("x")
            return int(w), int(h)
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolution {text!r}: use N or WIDTHxHEIGHT") from None


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("model (PoseNet options apply to PoseNet only)")
    d = DEFAULTS
    g.add_argument("--mode", choices=DECODERS, default=d["decoder"],
                   help="single or multi-pose decoding (default %(default)s)")
    g.add_argument("--resolution", type=parse_resolution, default=d["input_resolution"],
                   help="network input, N or WxH; rounded as tfjs does (default %(default)s)")
    g.add_argument("--scale-factor", type=float, default=d["image_scale_factor"],
                   help="image scale factor (0.2-1.0) instead of --resolution, as in the article")
    g.add_argument("--stride", type=int, choices=VALID_STRIDES, default=d["output_stride"],
                   help="output stride (default %(default)s)")
    g.add_argument("--flip", action="store_true", default=d["flip_horizontal"],
                   help="mirror poses horizontally (webcam video)")
    g.add_argument("--max-detections", type=int, default=d["max_detections"],
                   help="multi: at most this many people (default %(default)s)")
    g.add_argument("--score-threshold", type=float, default=d["score_threshold"],
                   help="minimum root part score (default %(default)s)")
    g.add_argument("--nms-radius", type=float, default=d["nms_radius"],
                   help="pixels between people's parts (default %(default)s)")
    g.add_argument("--model", default=d["model"],
                   help=f"{', '.join(MODEL_NAMES)}, or an ONNX or TF.js model.json file "
                        "(default: posenet); MoveNet ignores the PoseNet options above")
    g.add_argument("--int8", action="store_true",
                   help="the int8 copy of a named model, where `convert --int8` installed it")
    g.add_argument("--providers", default=",".join(d["providers"]),
                   help="execution providers in order of preference (cuda, tensorrt, cpu, ...; "
                        "default %(default)s)")
    g.add_argument("--threads", type=int, default=d["threads"],
                   help="ONNX Runtime threads (0: all cores)")
    g.add_argument("--smoothing", action=argparse.BooleanOptionalAction, default=d["smoothing"],
                   help="MoveNet single pose: smooth keypoints across a video's frames, as "
                        "pose-detection does (default on)")


def config_from_args(args: argparse.Namespace) -> EstimatorConfig:
    try:
        config = EstimatorConfig(
            model=args.model, precision="int8" if args.int8 else "fp32",
            output_stride=args.stride, input_resolution=args.resolution,
            image_scale_factor=args.scale_factor, flip_horizontal=args.flip, decoder=args.mode,
            max_detections=args.max_detections, score_threshold=args.score_threshold,
            nms_radius=args.nms_radius,
            providers=tuple(p.strip() for p in args.providers.split(",") if p.strip()),
            threads=args.threads, smoothing=args.smoothing)
        check_model(config)
        return config
    except ConfigError as exc:
        raise SystemExit(f"posenet-ros: {exc}") from None
