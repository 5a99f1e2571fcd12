"""``posenet-ros fleet``: many recordings analysed on Ray (plugged into posenet_ros.cli.main).

Exit codes: 0 every bag analysed (or already current); 1 some bags failed or were damaged
(named in fleet_summary.json and on stderr; the rest finished); 2 nothing could start (no bags
in the inputs, bad settings, Ray or pyarrow missing, the output folder busy); 130 interrupted
(finished bags are kept; a rerun does the rest).
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
from pathlib import Path
import sys

from posenet_ros.cli.bag import (add_depth_arguments, add_gesture_arguments, depth_from_args,
                                 gestures_from_args)
from posenet_ros.cli.engine_options import add_engine_arguments, config_from_args
from posenet_ros.cli.tracking_options import add_tracking_arguments, tracker_config_from_args

log = logging.getLogger(__name__)
EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 1, 2, 130


def register(subparsers: argparse._SubParsersAction) -> None:
    fleet = subparsers.add_parser(
        "fleet", help="many bags on Ray: per-bag outputs as `bag`, one Parquet fleet table",
        description="Analyse every bag the inputs name, each exactly as `posenet-ros bag` does, "
                    "on Ray actors (a local Ray, or a cluster with --ray-address), into "
                    "OUT/bags/<name>/, plus OUT/frames.parquet, OUT/tracks.parquet, "
                    "OUT/fleet_summary.json and OUT/robots.png. A rerun skips bags whose "
                    "outputs match the input and the settings. Needs the `fleet` extra "
                    "(requirements/fleet.txt).")
    fleet.add_argument("inputs", nargs="+", metavar="IN",
                       help="bag folder, .mcap or .db3 file, folder searched for bags, glob "
                            "(quoted; ** allowed) or @LIST (a file of such inputs, one a line)")
    fleet.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    fleet.add_argument("--topic",
                       help="image topic: a full name, or a name without the leading slash "
                            "that also matches under one namespace (camera/image_raw finds "
                            "/robot1/camera/image_raw); default: the bag's only image topic")
    fleet.add_argument("--output-topic", help="PoseArray topic (default: <topic>/poses)")
    fleet.add_argument("--markers", action="store_true",
                       help="also write visualization_msgs/MarkerArray")
    fleet.add_argument("--marker-topic", help="MarkerArray topic (default: beside the poses)")
    fleet.add_argument("--ray-address",
                       help="join a running Ray cluster (host:port, or auto); default: start "
                            "a local one")
    fleet.add_argument("--workers", type=int,
                       help="actors, each with its own model (default: one per CPU)")
    fleet.add_argument("--force", action="store_true",
                       help="analyse every bag again, even those whose outputs are current")
    fleet.add_argument("--content-hash", action="store_true",
                       help="key bags on a sha256 of every byte (default: names, sizes and "
                            "modification times of the files, and metadata.yaml's content)")
    fleet.add_argument("--retry-failed", action="store_true",
                       help="retry bags that failed for what they hold (corrupt, no such "
                            "topic) even though they have not changed since")
    add_engine_arguments(fleet)
    add_tracking_arguments(fleet)
    add_depth_arguments(fleet)
    add_gesture_arguments(fleet)
    fleet.set_defaults(func=run_fleet_cli)


def _missing_extra() -> str | None:
    """Name the first module of the fleet extra that cannot be imported (None: all there)."""
    for module in ("ray", "pyarrow"):
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):      # a broken or blocked installation
            return module
    return None


def run_fleet_cli(args: argparse.Namespace) -> int:
    from dataclasses import replace
    missing = _missing_extra()
    try:
        if missing:
            raise ImportError(name=missing)
        from posenet_ros.fleet.driver import FleetRequest, run_fleet
        from posenet_ros.fleet.inputs import expand_inputs, InputError
        from posenet_ros.fleet.state import BusyError
        from posenet_ros.fleet.work import BagOptions
    except ImportError as exc:
        print(f"posenet-ros fleet: {exc.name or exc} is not installed: pip install "
              "--require-hashes -r requirements/fleet.txt (or pip install 'posenet-ros[fleet]')",
              file=sys.stderr)
        return EXIT_UNUSABLE
    if args.workers is not None and args.workers < 1:
        print("posenet-ros fleet: --workers must be at least 1", file=sys.stderr)
        return EXIT_UNUSABLE
    config = config_from_args(args)
    if config.threads == 0:      # one actor per core: one ONNX Runtime thread each
        config = replace(config, threads=1)
    try:
        depth, depth_config = depth_from_args(args)
        gestures = gestures_from_args(args)
        bags = expand_inputs(args.inputs, exclude=args.output)
    except ValueError as exc:    # InputError, ConfigError too
        print(f"posenet-ros fleet: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    options = BagOptions(topic=args.topic, output_topic=args.output_topic, markers=args.markers,
                         marker_topic=args.marker_topic, tracking=tracker_config_from_args(args),
                         depth=depth, depth_config=depth_config, gestures=gestures)
    request = FleetRequest(bags=bags, out_dir=args.output.resolve(), config=config,
                           options=options, workers=args.workers, ray_address=args.ray_address,
                           force=args.force,
                           retry_failed=args.retry_failed, content_hash=args.content_hash)
    try:
        summary = run_fleet(request)
    except BusyError as exc:
        print(f"posenet-ros fleet: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except (ConnectionError, RuntimeError) as exc:     # Ray could not start or be reached
        print(f"posenet-ros fleet: Ray: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(f"\nposenet-ros fleet: interrupted; finished bags are in {args.output}/bags, "
              "a rerun does the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InputError as exc:
        print(f"posenet-ros fleet: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    t = summary["time_s"]
    print(f"{summary['bags']} bags: {summary['done']} analysed, {summary['skipped']} already "
          f"current, {summary['failed']} failed; {summary['frames']} frames, "
          f"{summary['tracks']} tracks, {len(summary['robots'])} robots in {t['wall']:.1f} s "
          f"(Ray start {t['ray_start']:.1f} s). Summary: {args.output}/fleet_summary.json")
    for failure in summary["failures"]:
        print(f"posenet-ros fleet: {failure['name']} ({failure['bag']}) {failure['status']}: "
              f"{failure['reason']}", file=sys.stderr)
    return EXIT_FAILED if summary["failures"] else 0
