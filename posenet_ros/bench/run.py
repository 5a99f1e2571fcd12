"""Timing one configuration: our stages and, on the same frames in the same run, the reference.

The two alternate in blocks (all frames through posenet_ros, then all through TF.js, twice),
so slow drifts in machine load hit both alike. Not frame by frame: TF.js keeps the CPU busy
for a while after each of its frames, which slowed every stage of ours measured right after
it by a third. Medians are reported because these machines are noisy. End to end is an RGB
frame in memory -> poses.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
import time

import cv2
import numpy as np

from posenet_ros.core.config import EstimatorConfig
from posenet_ros.core.result import FrameResult
from posenet_ros.estimator import PoseEstimator
from posenet_ros.outputs.marker_geometry import MarkerSettings
from posenet_ros.outputs.pose_array import build_pose_array
from posenet_ros.stages.pipeline import PipelineFrame

WARMUP = 3


@dataclass
class Result:
    resolution: int
    stride: int
    mode: str
    model: str
    frames: int
    people_mean: float
    ms: dict = field(default_factory=dict)          # stage -> median milliseconds
    reference_ms: float | None = None
    reference_people_mean: float | None = None
    gflop_per_frame: float | None = None

    @property
    def ratio(self) -> float | None:
        """How many times faster than TF.js end to end (None without a reference run)."""
        return self.reference_ms / self.ms["end_to_end"] if self.reference_ms else None

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


class MessageStage:
    """PoseArray build + publish on a real rclpy publisher, when a ROS install is importable."""

    def __init__(self) -> None:
        from posenet_ros.ros.worker import POSE_CLASSES
        import rclpy
        from std_msgs.msg import Header

        self._rclpy = rclpy
        rclpy.init()
        self._node = rclpy.create_node("posenet_bench")
        self._pub = self._node.create_publisher(POSE_CLASSES.pose_array, "posenet_bench/poses",
                                                10)
        self._header = Header(frame_id="camera")
        self._classes = POSE_CLASSES

    def __call__(self, result: FrameResult) -> float:
        t = time.perf_counter()
        msg = build_pose_array(self._classes, PipelineFrame(result, result.poses), self._header,
                               box_min_score=MarkerSettings().min_keypoint_score)
        self._pub.publish(msg)
        return time.perf_counter() - t

    def close(self) -> None:
        self._node.destroy_node()
        self._rclpy.try_shutdown()


ROUNDS = 2


def measure(config: EstimatorConfig, frames: list[np.ndarray], jpegs: list[bytes],
            reference=None, message_stage: MessageStage | None = None) -> Result:
    """Time ``config`` on ``frames`` (RGB), alternating blocks with the reference when given."""
    estimator = PoseEstimator(config)
    res = config.input_resolution
    stages: dict[str, list[float]] = {k: [] for k in
                                      ("image_decode", "preprocess", "inference", "pose_decode",
                                       "end_to_end", "message")}
    ref_ms, people, ref_people = [], [], []
    for _ in range(ROUNDS):
        for i, (frame, jpeg) in enumerate(zip(frames, jpegs)):
            t = time.perf_counter()
            cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            decode_s = time.perf_counter() - t
            t = time.perf_counter()
            result = estimator.estimate(frame)
            e2e = time.perf_counter() - t
            msg_s = message_stage(result) if message_stage else None
            if i < WARMUP:
                continue
            times = result.times
            for key, value in (("image_decode", decode_s), ("preprocess", times.preprocess),
                               ("inference", times.inference), ("pose_decode", times.decode),
                               ("end_to_end", e2e), ("message", msg_s)):
                if value is not None:
                    stages[key].append(value * 1e3)
            people.append(len(result.poses))
        if reference is None:
            continue
        for i, frame in enumerate(frames):
            ref_poses, ms = reference.estimate(frame, mode=config.decoder, input_resolution=res)
            if i >= WARMUP:
                ref_ms.append(ms)
                ref_people.append(len(ref_poses))
    return Result(
        resolution=res if isinstance(res, int) else res[0], stride=config.output_stride,
        mode=config.decoder, model=estimator.model_name, frames=len(frames) - WARMUP,
        people_mean=float(np.mean(people)),
        ms={k: float(np.median(v)) for k, v in stages.items() if v},
        reference_ms=float(np.median(ref_ms)) if ref_ms else None,
        reference_people_mean=float(np.mean(ref_people)) if ref_people else None)
