"""PosePipeline: the engine, tracking and 3D in one place, rebuilt whole when settings change.

The expected values come from the parts run by hand (PoseEstimator, PoseTracker, lift_poses),
not from the pipeline itself.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from posenet_ros.camera.intrinsics import CameraModel
from posenet_ros.core.config import EstimatorConfig
from posenet_ros.estimator import PoseEstimator
from posenet_ros.stages.depth.lift import DepthConfig, lift_poses, with_3d
from posenet_ros.stages.depth.sample import DepthSample
from posenet_ros.stages.pipeline import PipelineSettings, PosePipeline
from posenet_ros.stages.track.config import TrackerConfig
from posenet_ros.stages.track.tracker import PoseTracker
import pytest

ENGINE = EstimatorConfig(providers=("cpu",), decoder="multi")


@pytest.fixture(scope="module")
def clip(video_frames):
    """Return the spread vtest.avi frames as one stream at 10 frames/s, with stamps."""
    return [(frame, 0.1 * i) for i, frame in enumerate(video_frames)]


def test_the_pipeline_equals_the_engine_then_the_tracker(models, clip):
    pipeline = PosePipeline(PipelineSettings(ENGINE, TrackerConfig(min_hits=1)))
    estimator, tracker = PoseEstimator(ENGINE), PoseTracker(TrackerConfig(min_hits=1))
    for rgb, stamp in clip:
        frame = pipeline.process(rgb, stamp)
        raw = estimator.estimate(rgb, stamp).poses
        tracked = tracker.update(list(raw), stamp, image=rgb)
        assert [p.track_id for p in frame.poses] == [int(t.track_id) for t in tracked]
        for got, want in zip(frame.poses, tracked):
            np.testing.assert_allclose(got.positions, want.positions)
        assert frame.tracked and frame.depth == "off" and frame.problem is None
        assert [p.score for p in frame.engine.poses] == [p.score for p in raw]


def test_reconfigured_keeps_the_model_and_tracks_unless_their_settings_change(
        models, clip, still_with_people):
    first = PosePipeline(PipelineSettings(ENGINE, TrackerConfig(min_hits=1)))
    first.process(clip[1][0], 0.0)      # other people first: the ids below do not start at 1
    rgb = still_with_people             # people near the camera: confident poses
    for stamp in (10.0, 10.1, 10.2):    # long after: those tracks died
        before = first.process(rgb, stamp)
    ids = {p.track_id for p in before.poses} - {0}
    assert ids and min(ids) > 1
    stamp = 10.3

    decoder_only = first.reconfigured(replace(first.settings,
                                              engine=ENGINE.replace(max_detections=2)))
    assert decoder_only.estimator.model_name == first.estimator.model_name
    kept = decoder_only.process(rgb, stamp)
    assert len(kept.poses) <= 2 and {p.track_id for p in kept.poses} - {0} <= ids
    assert kept.engine.config.max_detections == 2 and first.settings.engine.max_detections == 5

    new_tracking = first.reconfigured(replace(first.settings, tracking=TrackerConfig(min_hits=2)))
    assert all(p.track_id == 0 for p in new_tracking.process(rgb, stamp).poses)   # ids restart

    stride8 = first.reconfigured(replace(first.settings, engine=ENGINE.replace(output_stride=8)))
    assert "stride8" in stride8.estimator.model_name
    assert "stride16" in first.estimator.model_name      # the old pipeline is untouched


def test_the_tracker_takes_the_models_own_confident_score(models, clip):
    """Each pose MoveNet MultiPose returns (0.25, its floor, to 0.6) may start a track.

    With PoseNet's 0.3 the people it finds at 0.25-0.3 would never get an id.
    """
    movenet = PosePipeline(PipelineSettings(ENGINE.replace(model="movenet-multipose"),
                                            TrackerConfig(min_hits=1)))
    posenet = PosePipeline(PipelineSettings(ENGINE, TrackerConfig(min_hits=1)))
    assert movenet.tracking.high_pose_score == movenet.estimator.confident_pose_score == 0.25
    assert posenet.tracking.high_pose_score == 0.3
    low = 0
    for rgb, stamp in clip:
        for pose in movenet.process(rgb, stamp).poses:
            assert pose.track_id > 0        # min_hits 1: every pose, however low, starts one
            low += pose.score < 0.3
    assert low > 0
    # The same tracker settings with another model are other settings: ids start again.
    again = posenet.reconfigured(replace(posenet.settings, engine=movenet.settings.engine))
    assert again.tracking == movenet.tracking != posenet.tracking


def test_a_failing_reload_leaves_the_pipeline_as_it_was(models, tmp_path):
    pipeline = PosePipeline(PipelineSettings(ENGINE))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(Exception):
        pipeline.reconfigured(replace(pipeline.settings, engine=ENGINE.replace(model=str(broken))))
    assert pipeline.estimator.config == ENGINE


def test_depth_is_lifted_when_paired_and_counted_either_way(models, clip):
    depth_config = DepthConfig()
    pipeline = PosePipeline(PipelineSettings(ENGINE, None, depth_config))
    rgb, stamp = clip[5]
    h, w = rgb.shape[:2]
    camera = CameraModel.from_fields([500.0, 0, w / 2, 0, 500.0, h / 2, 0, 0, 1], [0.0] * 5,
                                     "plumb_bob", w, h)
    wall = np.full((h, w), 3.0, np.float32)
    paired = pipeline.process(rgb, stamp, depth=DepthSample("paired", wall, camera))
    people = lift_poses(paired.engine.poses, wall, (w, h), camera, depth_config)
    assert paired.has_3d and paired.poses
    for got, pose, person in zip(paired.poses, paired.engine.poses, people):
        want = with_3d(pose, person)
        np.testing.assert_allclose(got.keypoints_3d, want.keypoints_3d, equal_nan=True)
        assert (got.position_3d is None) == (want.position_3d is None)
    refused = pipeline.process(rgb, stamp + 0.1, depth=DepthSample("refused", reason="bad"))
    assert refused.depth == "refused" and refused.problem == "bad" and not refused.has_3d
    assert all(p.keypoints_3d is None for p in refused.poses)
    counts = pipeline.counts()
    assert counts.depth_counts["paired"] == 1 and counts.depth_counts["refused"] == 1
    assert counts.depth_examples == [{"frame": 1, "status": "refused", "reason": "bad"}]


def test_a_frame_without_a_stamp_goes_out_untracked_with_the_reason(models, clip):
    pipeline = PosePipeline(PipelineSettings(ENGINE, TrackerConfig(min_hits=1)))
    frame = pipeline.process(clip[0][0], None)
    assert not frame.tracked and "stamp" in frame.problem
    assert all(p.track_id == 0 for p in frame.poses) and frame.poses
    nan = pipeline.process(clip[1][0], float("nan"))
    assert not nan.tracked and nan.problem


def test_streams_keep_their_own_tracks(models, still_with_people):
    pipeline = PosePipeline(PipelineSettings(ENGINE, TrackerConfig(min_hits=1)))
    rgb = still_with_people
    first = pipeline.process_batch([rgb, rgb], [0.0, 0.0], ["left", "right"])
    assert [p.track_id for p in first[0].poses] == [p.track_id for p in first[1].poses]
    pipeline.reset("left")
    left, right = pipeline.process_batch([rgb, rgb], [0.5, 0.5], ["left", "right"])
    # "right" continued its tracks (half a second old); "left" started over.
    right_ages = [p.track_age for p in right.poses if p.track_id]
    left_ages = [p.track_age for p in left.poses if p.track_id]
    assert right_ages and right_ages == pytest.approx([0.5] * len(right_ages))
    assert left_ages and left_ages == [0.0] * len(left_ages)
