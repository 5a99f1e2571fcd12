"""One pipeline behind every front end: RGB frames in, people with ids and 3D out.

The node's worker, ``posenet-ros bag`` and ``posenet-ros estimate`` all call
:class:`PosePipeline`, so the same recording gives the same poses, ids and 3D whichever ran it::

    engine (PoseEstimator) -> tracking (ids, optional smoothing) -> 3D (paired depth)

A pipeline is built from one immutable :class:`PipelineSettings`. A change of settings never
edits a running pipeline: :meth:`PosePipeline.reconfigured` builds the next one (reusing the
loaded model and each stream's tracks where the change allows) and the caller swaps it whole
between frames, so no frame sees half of a change. Streams (cameras) share the model and are
batched together; each keeps its own tracks and depth counts.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.pose import Pose
from posenet_ros.core.result import FrameResult
from posenet_ros.estimator import DEFAULT_STREAM, PoseEstimator
from posenet_ros.stages.depth.lift import DepthConfig, lift_poses, with_3d
from posenet_ros.stages.depth.sample import DepthSample, MAX_EXAMPLES, STATUSES
from posenet_ros.stages.track.config import TrackerConfig, TrackerError
from posenet_ros.stages.track.tracker import PoseTracker


@dataclass(frozen=True)
class PipelineSettings:
    """What decides a frame's people: engine, tracking (None: off) and depth (None: off)."""

    engine: EstimatorConfig = field(default_factory=EstimatorConfig)
    tracking: TrackerConfig | None = field(default_factory=TrackerConfig)
    depth: DepthConfig | None = None


@dataclass(frozen=True, eq=False)
class PipelineFrame:
    """One frame's outcome: the engine's result and the people after every stage.

    ``poses`` are what goes out (ids from tracking, ``keypoints_3d`` where depth was paired);
    ``engine.poses`` are the model's own. ``depth`` is the pairing outcome (one of
    :data:`~posenet_ros.stages.depth.sample.STATUSES`, or ``off``) and ``problem`` the reason
    a stage could not run on this frame: the depth sample's when ``depth`` is ``refused`` or
    ``no_camera_info``, else tracking's (an unusable stamp).
    """

    engine: FrameResult
    poses: tuple[Pose, ...]
    tracked: bool = False
    smoothed: bool = False
    depth: str = "off"
    problem: str | None = None

    @property
    def has_3d(self) -> bool:
        return self.depth == "paired"


@dataclass
class StreamCounts:
    """Per-stream depth outcomes, with the first reasons, for diagnostics and summaries."""

    depth_counts: Counter = field(default_factory=lambda: Counter(dict.fromkeys(STATUSES, 0)))
    depth_examples: list[dict] = field(default_factory=list)


class _Stream:
    """A stream's memory across frames: its tracker and its counts."""

    def __init__(self, tracking: TrackerConfig | None) -> None:
        self.tracker = PoseTracker(tracking) if tracking is not None else None
        self.counts = StreamCounts()
        self.frames = 0


class PosePipeline:
    """The engine and the stages after it, for any number of streams.

    Not thread-safe: one thread processes frames; another may build the next pipeline with
    :meth:`reconfigured` and hand it over.
    """

    def __init__(self, settings: PipelineSettings | None = None,
                 estimator: PoseEstimator | None = None) -> None:
        self.settings = settings or PipelineSettings()
        self.estimator = estimator or PoseEstimator(self.settings.engine)
        self._streams: dict[Hashable, _Stream] = {}

    def reconfigured(self, settings: PipelineSettings) -> PosePipeline:
        """Return the pipeline for ``settings``; raises ConfigError/ModelError, self unchanged.

        The model is reloaded only when a session setting changed; tracks carry over unless
        the tracking settings changed (then ids start again at 1).
        """
        estimator = self.estimator.with_config(settings.engine)
        new = PosePipeline(settings, estimator)
        if new.tracking == self.tracking:
            new._streams = self._streams
        return new

    @property
    def tracking(self) -> TrackerConfig | None:
        """Return the tracker settings in force (a threshold left to the model: its own)."""
        tracking = self.settings.tracking
        return None if tracking is None else tracking.for_model(
            self.estimator.confident_pose_score)

    def counts(self, stream: Hashable = DEFAULT_STREAM) -> StreamCounts:
        """Return the depth outcomes so far of ``stream``."""
        return self._stream(stream).counts

    def reset(self, stream: Hashable = DEFAULT_STREAM) -> None:
        """Forget a stream: its tracks, counts and the model's memory of it."""
        self._streams.pop(stream, None)
        self.estimator.reset(stream)

    def process(self, image: np.ndarray, stamp: float | None = None,
                stream: Hashable = DEFAULT_STREAM,
                depth: DepthSample | None = None) -> PipelineFrame:
        """Run one RGB frame (HxWx3 uint8) of ``stream`` taken at ``stamp`` (seconds)."""
        return self.process_batch([image], [stamp], [stream], [depth])[0]

    def process_batch(self, images: Sequence[np.ndarray], stamps: Sequence[float | None],
                      streams: Sequence[Hashable],
                      depths: Sequence[DepthSample | None] | None = None) -> list[PipelineFrame]:
        """Run same-size frames of several streams through one inference, then their stages.

        Raises ValueError (e.g. ImageError) when the engine refuses the batch.
        """
        results = self.estimator.estimate_batch(images, stamps, streams)
        depths = depths if depths is not None else [None] * len(images)
        return [self._after_engine(result, stream, image, depth)
                for result, stream, image, depth in zip(results, streams, images, depths)]

    def _after_engine(self, result: FrameResult, stream: Hashable, image: np.ndarray,
                      depth: DepthSample | None) -> PipelineFrame:
        state = self._stream(stream)
        index, state.frames = state.frames, state.frames + 1
        poses, problem = list(result.poses), None
        tracker = state.tracker
        if tracker is not None:
            try:
                poses = _track(tracker, poses, result.stamp, image)
            except TrackerError as exc:     # e.g. a NaN or missing stamp: out untracked
                problem = str(exc)
        tracked = tracker is not None and problem is None
        status = "off" if self.settings.depth is None or depth is None else depth.status
        if status != "off":
            self._count(state.counts, index, depth)
            problem = depth.reason or problem
        if status == "paired":
            people = lift_poses(poses, depth.depth, result.image_size, depth.camera,
                                self.settings.depth, depth.depth_camera)
            poses = [with_3d(p, q) for p, q in zip(poses, people)]
        return PipelineFrame(result, tuple(poses), tracked=tracked,
                             smoothed=tracker is not None and tracker.config.smoothing,
                             depth=status, problem=problem)

    @staticmethod
    def _count(counts: StreamCounts, index: int, depth: DepthSample) -> None:
        counts.depth_counts[depth.status] += 1
        if depth.reason is not None and len(counts.depth_examples) < MAX_EXAMPLES:
            counts.depth_examples.append({"frame": index, "status": depth.status,
                                          "reason": depth.reason})

    def _stream(self, stream: Hashable) -> _Stream:
        state = self._streams.get(stream)
        if state is None:
            state = self._streams[stream] = _Stream(self.tracking)
        return state


def _track(tracker: PoseTracker, poses: list[Pose], stamp: float | None,
           image: np.ndarray) -> list[Pose]:
    """Poses with their track ids and ages; positions smoothed when the tracker smooths.

    The image gives the tracker people's looks, to give a returning person their id back.
    """
    if stamp is None:
        raise TrackerError("the frame has no stamp")
    return [replace(t.raw, positions=t.positions, track_id=int(t.track_id),
                    track_age=float(t.age))
            for t in tracker.update(poses, stamp, image=image)]
