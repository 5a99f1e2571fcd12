"""``posenet-ros bag`` writes Foxglove image annotations, and with ``--with-images`` the video.

One output MCAP then shows the video with skeletons and ids in Foxglove or Lichtblick. The
output is read back by rosbags from the schemas embedded in the file (an empty typestore: an
independent reader, not our builder's classes), and every annotation point must sit on the
PoseArray keypoint of the same frame.
"""
from __future__ import annotations

from bag_fixtures import IMAGE_TOPIC, read_topic, require_model, run_cli, sample_video, stamp_ns
import numpy as np
from posenet_ros.core.keypoints import SKELETON
from posenet_ros.outputs.marker_geometry import MarkerSettings
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import get_typestore, Stores

pytestmark = pytest.mark.integration

FRAMES = 12
ANNOTATIONS = IMAGE_TOPIC + "/image_annotations"
MIN_SCORE = MarkerSettings().min_keypoint_score


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    require_model()
    root = tmp_path_factory.mktemp("annotations")
    made = run_cli("bag-from-video", sample_video(), "-o", root / "in", "--max-frames", FRAMES)
    assert made.returncode == 0, made.stderr
    done = run_cli("bag", root / "in", "--topic", IMAGE_TOPIC, "-o", root / "out",
                   "--with-images")
    assert done.returncode == 0, done.stderr
    return root / "in", root / "out" / "poses"


def test_annotation_points_sit_on_keypoints(analysed):
    _, out = analysed
    poses = read_topic(out, IMAGE_TOPIC + "/poses")
    annotations = read_topic(out, ANNOTATIONS)
    assert len(poses) == len(annotations) == FRAMES
    edges = {frozenset(e) for e in SKELETON}
    drawn = 0
    for (pose_time, pose_array), (time, msg) in zip(poses, annotations):
        assert time == pose_time
        visible = [p for p in pose_array.poses
                   if any(k.score >= MIN_SCORE for k in p.keypoints)]
        dots = [a for a in msg.points if a.type == 1]       # POINTS
        lines = [a for a in msg.points if a.type == 4]      # LINE_LIST
        assert len(dots) == len(visible)
        for annotation in msg.points:
            t = annotation.timestamp
            assert t.sec * 1_000_000_000 + t.nanosec == stamp_ns(pose_array.header)
        for dot, pose in zip(dots, visible):
            want = [(k.x, k.y) for k in pose.keypoints if k.score >= MIN_SCORE]
            np.testing.assert_allclose([(p.x, p.y) for p in dot.points], want, atol=1e-3)
            drawn += len(want)
        for line in lines:
            pose = next(p for p, d in zip(visible, dots) if _rgba(d) == _rgba(line))
            xy = np.array([(k.x, k.y) for k in pose.keypoints])
            for a, b in zip(line.points[::2], line.points[1::2]):
                ends = [int(np.argmin(np.hypot(*(xy - (q.x, q.y)).T))) for q in (a, b)]
                assert frozenset(ends) in edges
                np.testing.assert_allclose([(a.x, a.y), (b.x, b.y)], xy[ends], atol=1e-3)
        ids = sorted(p.track_id for p in visible if p.track_id > 0)
        assert sorted(int(t.text.split()[1]) for t in msg.texts) == ids
    assert drawn > 0, "no keypoint drawn: nothing checked"


def test_with_images_copies_the_video(analysed):
    source, out = analysed
    copied = read_topic(out, IMAGE_TOPIC)
    original = read_topic(source, IMAGE_TOPIC)
    assert len(copied) == len(original) == FRAMES
    for (t_out, a), (t_in, b) in zip(copied, original):
        assert t_out == t_in and stamp_ns(a.header) == stamp_ns(b.header)
        assert (a.encoding, a.width, a.height) == (b.encoding, b.width, b.height)
        assert np.array_equal(a.data, b.data)
    with AnyReader([out], default_typestore=get_typestore(Stores.EMPTY)) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
    assert types[ANNOTATIONS] == "foxglove_msgs/msg/ImageAnnotations"
    assert types[IMAGE_TOPIC] == "sensor_msgs/msg/Image"


def test_no_annotations_and_no_images_unless_asked(analysed, tmp_path):
    source, _ = analysed
    done = run_cli("bag", source, "--topic", IMAGE_TOPIC, "-o", tmp_path / "out",
                   "--no-annotations")
    assert done.returncode == 0, done.stderr
    with AnyReader([tmp_path / "out" / "poses"],
                   default_typestore=get_typestore(Stores.EMPTY)) as reader:
        topics = {c.topic for c in reader.connections}
    assert topics == {IMAGE_TOPIC + "/poses"}


def _rgba(annotation) -> tuple:
    c = annotation.outline_color
    return c.r, c.g, c.b, c.a
