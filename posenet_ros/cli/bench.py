"""``posenet-ros bench``: stage tables and ratios to TF.js (PoseNet, MoveNet), accuracy proxies.

Also GFLOP/s and an optional memory soak.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
import platform
import sys

import cv2

from posenet_ros.core import paths
from posenet_ros.core.config import DECODERS, EstimatorConfig, VALID_STRIDES

log = logging.getLogger(__name__)

SECTIONS = ("posenet", "movenet", "accuracy")
STILL_VIDEO_FRAMES = 6      # vtest frames added to the stills for the agreement table


def register(subparsers) -> None:
    p = subparsers.add_parser("bench",
                              help="per-stage timings and the ratio to TF.js (PoseNet 2.2.2, "
                                   "pose-detection 2.1.3 MoveNet); accuracy proxies")
    p.add_argument("--frames", type=int, default=30,
                   help="frames of the sample video per configuration")
    p.add_argument("--video", type=Path, default=None,
                   help="frames from this video (default vtest.avi)")
    p.add_argument("--resolutions", type=int, nargs="+", default=[257, 385, 513])
    p.add_argument("--strides", type=int, nargs="+", choices=VALID_STRIDES,
                   default=list(VALID_STRIDES))
    p.add_argument("--modes", nargs="+", choices=DECODERS, default=list(DECODERS))
    p.add_argument("--int8", action="store_true",
                   help="also time the int8 model (stride 16); print each int8 guard verdict")
    p.add_argument("--providers", default="cpu", help="execution providers (default cpu)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--no-reference", action="store_true", help="skip TF.js (no ratios)")
    p.add_argument("--reference-backend", choices=("wasm", "cpu"), default="wasm")
    p.add_argument("--json", type=Path, default=Path("out/bench/bench.json"),
                   help="where to write results")
    p.add_argument("--soak", type=int, default=0, metavar="N",
                   help="then run N frames and report RSS")
    p.add_argument("--skip", nargs="+", choices=SECTIONS, default=[],
                   help="leave out sections: PoseNet rows, MoveNet rows (each model against "
                        "pose-detection), the accuracy table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posenet_ros.bench.flops import conv_flops, cpu_peak_gflops
    from posenet_ros.bench.run import measure

    from posenet_ros.imaging.files import spread_frames
    video = paths.require(Path(args.video or paths.sample_video()), "benchmark video")
    frames = spread_frames(video, args.frames)
    jpegs = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR),
                          [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
             for f in frames]
    providers = tuple(p.strip() for p in args.providers.split(","))
    posenet = "posenet" not in args.skip
    reference = None if args.no_reference or not posenet else _reference(args.reference_backend)
    message = _message_stage() if posenet else None
    configs = [EstimatorConfig(input_resolution=r, output_stride=s, decoder=m,
                               providers=providers, threads=args.threads)
               for r in args.resolutions for s in args.strides for m in args.modes
               if "posenet" not in args.skip]
    # Decoder load at the crowd sizes: a low threshold lets 5 / 15 people through.
    crowd = [EstimatorConfig(input_resolution=257, output_stride=16, max_detections=5,
                             score_threshold=0.1, providers=providers, threads=args.threads),
             EstimatorConfig(input_resolution=513, output_stride=8, max_detections=15,
                             score_threshold=0.05, providers=providers, threads=args.threads)]
    crowd = [] if "posenet" in args.skip else crowd
    int8_rows = args.int8 and paths.default_model(16, quantized=True).is_file()
    if int8_rows:
        configs += [c.replace(precision="int8") for c in configs if c.output_stride == 16]
    elif args.int8:
        print(f"no int8 rows: {paths.default_model(16, quantized=True)} missing "
              "(`posenet-ros convert --int8`)", file=sys.stderr)
    peak, peak_note = cpu_peak_gflops()
    results = []
    try:
        for cfg in configs + crowd:
            ref = reference if cfg.output_stride == 16 and cfg in configs else None
            result = measure(cfg, frames, jpegs, ref, message)
            size = cfg.input_size(frames[0].shape[1], frames[0].shape[0])
            # Counted on the fp32 graph: int8 does the same multiply-adds in integers.
            result.gflop_per_frame = conv_flops(
                cfg.model or paths.default_model(cfg.output_stride), size[1], size[0]) / 1e9
            results.append(result)
            _print_row(result, peak, crowd=cfg in crowd)
    finally:
        if reference is not None:
            reference.close()
        if message is not None:
            message.close()
    report = {"machine": {"platform": platform.platform(), "processor": _cpu_name(),
                          "nominal_peak_gflops": peak, "peak_assumption": peak_note},
              "frames": len(frames), "results": [r.to_json() for r in results]}
    if "movenet" not in args.skip:
        report["movenet"] = _movenet_rows(frames, providers, args)
    if "accuracy" not in args.skip:
        report["accuracy"] = _accuracy(frames, providers, args.threads)
    if int8_rows:
        from posenet_ros.convert.metadata import read_metadata
        meta = read_metadata(paths.default_model(16, quantized=True))
        report["int8_guard"] = meta.get("int8_guard", "not recorded")
        print(f"\n{report['int8_guard']}")
    if args.int8:
        report["int8_movenet"] = _movenet_int8_verdicts()
    if args.soak:
        from posenet_ros.bench.memory import soak
        report["soak"] = soak(EstimatorConfig(providers=providers, threads=args.threads),
                              frames, args.soak)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"\nnominal CPU peak {peak:.0f} GFLOP/s ({peak_note}); results in {args.json}")
    return 0


HEADER = (f"{'res':>4} {'str':>3} {'mode':>6} {'ppl':>4} | {'jpeg':>5} {'prep':>5} {'infer':>6} "
          f"{'decode':>6} {'msg':>5} | {'e2e ms':>7} {'tfjs ms':>7} {'ratio':>6} | "
          f"{'GFLOP':>5} {'GFLOP/s':>7}")


def _print_row(r, peak: float, crowd: bool) -> None:
    if not getattr(_print_row, "header", False):
        print(HEADER)
        _print_row.header = True
    ms = r.ms
    ratio = f"{r.ratio:5.1f}x" if r.ratio else "     -"
    ref = f"{r.reference_ms:7.2f}" if r.reference_ms else "      -"
    gflops = r.gflop_per_frame / (ms["inference"] / 1e3)
    tag = " int8" if "int8" in r.model else " crowd" if crowd else ""
    print(f"{r.resolution:>4} {r.stride:>3} {r.mode:>6} {r.people_mean:4.1f} | "
          f"{ms['image_decode']:5.2f} {ms['preprocess']:5.2f} {ms['inference']:6.2f} "
          f"{ms['pose_decode']:6.2f} {ms.get('message', float('nan')):5.2f} | "
          f"{ms['end_to_end']:7.2f} {ref} {ratio} | "
          f"{r.gflop_per_frame:5.2f} {gflops:7.1f}{tag}", flush=True)


def _movenet_rows(frames, providers: tuple[str, ...], args: argparse.Namespace) -> list[dict]:
    from posenet_ros.bench.movenet_accuracy import installed_int8
    from posenet_ros.bench.movenet_speed import BLOCK, format_row, HEADER, measure_movenet
    from posenet_ros.families import MOVENET, NAMES_BY_FAMILY

    reference = None if args.no_reference else _movenet_reference(args.reference_backend)
    rows = []
    print(f"\nMoveNet vs pose-detection 2.1.3 ({args.reference_backend}), same frames, "
          f"alternating blocks of {BLOCK} frames\n" + HEADER)
    try:
        configs = [EstimatorConfig(model=name, providers=providers, threads=args.threads)
                   for name in NAMES_BY_FAMILY[MOVENET]]
        # int8 where the guard let it in, against the same (fp32) reference model
        configs += [c.replace(precision="int8") for c in configs if installed_int8(c)]
        for cfg in configs:
            result = measure_movenet(cfg, frames, reference)
            print(format_row(result), flush=True)
            rows.append(result.to_json())
    finally:
        if reference is not None:
            reference.close()
    return rows


def _movenet_int8_verdicts() -> dict[str, str]:
    """Print and return the int8 guard's verdict on each MoveNet model (metadata or record)."""
    from posenet_ros.quantize.build import verdict
    from posenet_ros.families import MOVENET, NAMES_BY_FAMILY

    verdicts = {name: verdict(paths.movenet_model(name, quantized=True))
                for name in NAMES_BY_FAMILY[MOVENET]}
    print("\nMoveNet int8 (accuracy guard):")
    for name, text in verdicts.items():
        print(f"  {name}: {text}")
    return verdicts


def _movenet_reference(backend: str):
    from posenet_ros.reference.movenet_runner import ReferenceMoveNet
    from posenet_ros.reference.runner import ReferenceUnavailable
    try:
        return ReferenceMoveNet(backend=backend)
    except ReferenceUnavailable as exc:
        print(f"pose-detection reference unavailable, no MoveNet ratios: {exc}", file=sys.stderr)
        return None


def _accuracy(frames, providers: tuple[str, ...], threads: int) -> list[dict]:
    from posenet_ros.bench.movenet_accuracy import accuracy_table, format_row, HEADER
    from posenet_ros.imaging.files import read_image, spread_frames

    stills = [read_image(p) for p in sorted(paths.data_dir().glob("*.*"))
              if p.suffix.lower() in (".jpg", ".png")]
    stills += spread_frames(paths.sample_video(), STILL_VIDEO_FRAMES)
    rows = accuracy_table(frames, stills, providers, threads)
    print(f"\nAccuracy proxies: people per frame on {len(frames)} vtest.avi frames; agreement "
          f"with Thunder on {len(stills)} images (no labels here: agreement, not accuracy)\n"
          + HEADER)
    for row in rows:
        print(format_row(row))
    return [row.to_json() for row in rows]


def _reference(backend: str):
    from posenet_ros.reference.runner import ReferencePoseNet, ReferenceUnavailable
    try:
        return ReferencePoseNet(backend=backend)
    except ReferenceUnavailable as exc:
        print(f"TF.js reference unavailable, no ratios: {exc}", file=sys.stderr)
        return None


def _message_stage():
    from posenet_ros.bench.run import MessageStage
    try:
        return MessageStage()
    except ImportError as exc:
        print(f"ROS message stage skipped (no ROS install importable: {exc})", file=sys.stderr)
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":")[1].strip() for line in info
                         if line.startswith("model name")), "")
    except OSError:
        return platform.processor()
