"""Tracking options shared by ``posenet-ros estimate`` (videos) and ``posenet-ros bag``.

Defaults are :class:`~posenet_ros.stages.track.config.TrackerConfig`'s, read from the dataclass
so that the CLI, the bag tool and the node (its parameters) cannot drift apart.
"""
from __future__ import annotations

import argparse
from dataclasses import fields

from posenet_ros.stages.track.config import TrackerConfig, TrackerError

DEFAULTS = {f.name: f.default for f in fields(TrackerConfig)}


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--tracking/--no-tracking``, ``--smoothing`` and the main tracker settings."""
    g = parser.add_argument_group("tracking (stable ids across a video's or bag's frames)")
    d = DEFAULTS
    g.add_argument("--tracking", action=argparse.BooleanOptionalAction, default=True,
                   help="give each person a track id that stays across frames (default on)")
    g.add_argument("--track-smoothing", action="store_true", default=d["smoothing"],
                   help="One Euro filter on tracked keypoints (scores stay raw)")
    g.add_argument("--track-min-hits", type=int, default=d["min_hits"],
                   help="frames matched before a person gets an id (default %(default)s)")
    g.add_argument("--track-max-age", type=float, default=d["max_age"],
                   help="seconds unseen before an id is dropped (default %(default)s)")
    g.add_argument("--track-min-pose-score", type=float, default=d["min_pose_score"],
                   help="poses scoring below are not tracked (default %(default)s)")
    g.add_argument("--track-high-pose-score", type=float, default=d["high_pose_score"],
                   help="pose score from which a person may start a track; %(default)s "
                        "(default): the model's own (PoseNet 0.3, MoveNet 0.25)")
    g.add_argument("--track-reid-max-age", type=float, default=d["reid_max_age"],
                   help="seconds a lost person's look is kept to give their id back; 0: off "
                        "(default %(default)s)")
    g.add_argument("--track-min-similarity", type=float, default=d["min_similarity"],
                   help="minimum keypoint similarity of a match (default %(default)s)")


def tracker_config_from_args(args: argparse.Namespace) -> TrackerConfig | None:
    """Build the tracker settings the arguments ask for; None with ``--no-tracking``."""
    if not args.tracking:
        return None
    try:
        return TrackerConfig(min_hits=args.track_min_hits, max_age=args.track_max_age,
                             min_pose_score=args.track_min_pose_score,
                             high_pose_score=args.track_high_pose_score,
                             reid_max_age=args.track_reid_max_age,
                             min_similarity=args.track_min_similarity,
                             smoothing=args.track_smoothing)
    except TrackerError as exc:
        raise SystemExit(f"posenet-ros: {exc}") from None
