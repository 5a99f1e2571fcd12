"""The tracker's settings: :class:`TrackerConfig`, checked on creation, and their bounds."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from posenet_ros.core.keypoints import NUM_KEYPOINTS
from posenet_ros.filters.one_euro import OneEuroFilterConfig

# Bounds shared with the ROS parameter ranges.
MIN_HITS_RANGE = (1, 30)
MAX_AGE_RANGE = (0.01, 60.0)
MAX_TRACKS_RANGE = (1, 1000)
CUTOFF_RANGE = (0.001, 100.0)
BETA_RANGE = (0.0, 1000.0)
POSE_SCORE_RANGE = (0.0, 1.0)
DUPLICATE_OKS_RANGE = (0.0, 1.0)
REID_MAX_AGE_RANGE = (0.0, 600.0)
# ``high_pose_score`` left to the detector: its model's ``confident_pose_score`` (pose scores
# are on each model's own scale), PoseNet's where no model is known.
MODEL_OWN = -1.0


class TrackerError(ValueError):
    """A tracker setting or input is invalid; the message says which."""


@dataclass(frozen=True)
class TrackerConfig:
    """How people are tracked. Matching defaults are pose-detection 2.1.3's keypoint tracker's.

    ``min_similarity`` (0.2), ``keypoint_threshold`` (0.3) and ``min_keypoints`` (4) are
    pose-detection's ``DEFAULT_KEYPOINT_TRACKER_CONFIG``; ``max_age`` is its 1 s, in stamp
    seconds. ``max_tracks`` caps live tracks (a detection beyond it stays untracked).
    ``motion`` predicts tracks at constant velocity. ``smoothing`` turns the One Euro filter
    on, with ``min_cutoff``/``d_cutoff`` in Hz and ``beta`` per person-size per second.
    ``min_pose_score``, ``high_pose_score`` and ``duplicate_oks`` (:mod:`scores`;
    ``high_pose_score`` :data:`MODEL_OWN` is the detector's own, see :meth:`for_model`),
    ``reid_max_age`` (seconds an ended track's look is kept; 0: no re-identification) and
    ``reid_min_similarity`` (:mod:`reid`) were chosen on the TUNE scenes of
    :mod:`posenet_ros.bench.tracking_eval`; ``high_pose_score`` sits below their best, so
    that small, far people still start tracks (docs/tracking-eval.md).
    """

    min_hits: int = 3
    max_age: float = 1.0
    min_similarity: float = 0.2
    keypoint_threshold: float = 0.3
    min_keypoints: int = 4
    max_tracks: int = 100
    motion: bool = True
    smoothing: bool = False
    min_cutoff: float = 1.0
    beta: float = 2.0
    d_cutoff: float = 1.0
    min_pose_score: float = 0.2
    high_pose_score: float = MODEL_OWN
    duplicate_oks: float = 0.7
    reid_max_age: float = 4.0
    reid_min_similarity: float = 0.85

    def __post_init__(self) -> None:
        _check("min_hits", self.min_hits, MIN_HITS_RANGE, integer=True)
        _check("max_age", self.max_age, MAX_AGE_RANGE)
        _check("min_similarity", self.min_similarity, (0.0, 1.0))
        _check("keypoint_threshold", self.keypoint_threshold, (0.0, 1.0))
        _check("min_keypoints", self.min_keypoints, (1, NUM_KEYPOINTS), integer=True)
        _check("max_tracks", self.max_tracks, MAX_TRACKS_RANGE, integer=True)
        _check("min_cutoff", self.min_cutoff, CUTOFF_RANGE)
        _check("beta", self.beta, BETA_RANGE)
        _check("d_cutoff", self.d_cutoff, CUTOFF_RANGE)
        _check("min_pose_score", self.min_pose_score, POSE_SCORE_RANGE)
        if self.high_pose_score != MODEL_OWN:
            _check("high_pose_score", self.high_pose_score, POSE_SCORE_RANGE,
                   also=f", or {MODEL_OWN:g} for the model's own")
        _check("duplicate_oks", self.duplicate_oks, DUPLICATE_OKS_RANGE)
        _check("reid_max_age", self.reid_max_age, REID_MAX_AGE_RANGE)
        _check("reid_min_similarity", self.reid_min_similarity, (0.0, 1.0))
        if self.high_pose_score != MODEL_OWN and self.min_pose_score > self.high_pose_score:
            raise TrackerError(f"min_pose_score {self.min_pose_score} is above high_pose_score "
                               f"{self.high_pose_score}: lower it or raise high_pose_score")

    def for_model(self, confident_pose_score: float) -> TrackerConfig:
        """Return these settings with a ``high_pose_score`` left to the model set to its own.

        ``confident_pose_score``: the detector's (``PoseEstimator.confident_pose_score``).
        A ``min_pose_score`` above it raises it: every pose tracked is then confident.
        """
        if self.high_pose_score != MODEL_OWN:
            return self
        return replace(self, high_pose_score=max(confident_pose_score, self.min_pose_score))

    def replace(self, **changes) -> TrackerConfig:
        """Return a validated copy with ``changes`` applied; unknown names raise TrackerError."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TrackerError(f"unknown tracker setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def filter_config(self) -> OneEuroFilterConfig:
        """Return the One Euro settings of the keypoint filters."""
        return OneEuroFilterConfig(min_cutoff=self.min_cutoff, beta=self.beta,
                                   derivate_cutoff=self.d_cutoff)


def _check(name: str, value, bounds, integer: bool = False, also: str = "") -> None:
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise TrackerError(f"{name} must be an integer, got {value!r}")
    if not (isinstance(value, (int, float)) and bounds[0] <= value <= bounds[1]):
        raise TrackerError(f"{name} {value!r} is out of range [{bounds[0]}, {bounds[1]}]{also}")
