"""Looks and the image's edges in tracking (issue 19, round two), on a real detected pose.

A person who walks out of the image is gone from view: before this round, someone entering
at that edge a moment later continued their track (the centre-distance stage reached the
predicted path running on outside the image) and so took their id.
"""
from __future__ import annotations

import cv2
import numpy as np
from posenet_ros.bench import tracking_cost
from posenet_ros.core.pose import Pose
from posenet_ros.stages.track import appearance, cascade
from posenet_ros.stages.track.config import TrackerConfig
from posenet_ros.stages.track.similarity import keypoint_boxes, oks
from posenet_ros.stages.track.tracker import PoseTracker
import pytest
from track_frames import on_canvas


@pytest.fixture(scope="module")
def person() -> Pose:
    return tracking_cost.real_template()


def at(pose: Pose, dx: float) -> Pose:
    return Pose(pose.score, pose.positions + [dx, 0.0], pose.keypoint_scores)


def test_someone_entering_where_a_person_walked_out_gets_a_new_id(person, messi):
    """A walks out at the right edge; 0.3 s later B (other clothes) enters there."""
    height = float(np.ptp(person.positions[:, 1]))
    width = messi.shape[1] + 900
    centre = float(person.positions[:, 0].min() + person.positions[:, 0].max()) / 2
    step = 0.25 * height                        # per frame at 10 fps: a brisk walk
    frames = []
    for i in range(6):                          # A's last centre: half a height inside
        dx = width - 0.5 * height - centre - (5 - i) * step
        frames.append((i / 10, at(person, dx), dx, 0))
    for i in range(6):                          # B, 0.3 s later, a tenth of a height inside
        dx = width - 0.1 * height - centre - i * step
        frames.append((0.8 + i / 10, at(person, dx), dx, 90))

    def run(image: bool) -> list[int]:
        tracker = PoseTracker(TrackerConfig())
        return [tracker.update([pose], stamp, on_canvas(messi, person, dx, hue) if image
                               else None)[0].track_id for stamp, pose, dx, hue in frames]

    with_image = run(True)
    assert with_image[2:6] == [1] * 4
    assert 1 not in with_image[6:] and with_image[-1] == 2
    # Without the image the tracker cannot tell the edge: B continues A's path and id.
    assert run(False)[6] == 1


def _reference_looks(image: np.ndarray, pose: Pose) -> np.ndarray:
    """One person's look, pixel by pixel: the definition of appearance.describe."""
    valid = pose.keypoint_scores >= 0.3
    box = keypoint_boxes(pose.positions[None], valid[None])[0]
    ys = pose.positions[:, 1]
    top = ys[[5, 6]][valid[[5, 6]]].min()
    split = ys[[11, 12]][valid[[11, 12]]].max()
    parts = [(top, split), (split, box[3])]        # torso, legs
    inset = 0.2 * (box[2] - box[0])
    out = np.zeros((appearance.REGIONS, appearance.BINS))
    for r, (y0, y1) in enumerate(parts):
        for row in range(appearance.ROWS):
            y = int(np.clip(y0 + (row + 0.5) / appearance.ROWS * (y1 - y0), 0,
                            image.shape[0] - 1))
            for col in range(appearance.COLUMNS):
                x = int(np.clip(box[0] + inset + (col + 0.5) / appearance.COLUMNS
                                * (box[2] - box[0] - 2 * inset), 0, image.shape[1] - 1))
                h, s, _ = cv2.cvtColor(image[y:y + 1, x:x + 1], cv2.COLOR_RGB2HSV)[0, 0]
                hue = int(h) * appearance.HUE_BINS // 180
                sat = int(s) * appearance.SAT_BINS // 256
                out[r, hue * appearance.SAT_BINS + sat] += 1
    return out / out.sum(axis=1, keepdims=True)


def test_looks_equal_their_pixel_by_pixel_definition(person, messi):
    """The vectorised sampling and binning of all people at once equals the plain loop."""
    poses = [person, at(person, -150.0), at(person, 700.0)]   # one cut by the left edge
    positions = np.array([p.positions for p in poses])
    valid = np.array([p.keypoint_scores for p in poses]) >= 0.3
    boxes = keypoint_boxes(positions, valid)
    looks, seen = appearance.describe(messi, positions.transpose(0, 2, 1), valid, boxes)
    assert seen.all()
    for k, pose in enumerate(poses):
        np.testing.assert_allclose(looks[k], _reference_looks(messi, pose), atol=1e-6)
    # Many people at once (more than the precomputed sample offsets cover): the same looks.
    many = np.repeat(positions.transpose(0, 2, 1), 20, axis=0)
    crowd, _ = appearance.describe(messi, many, np.repeat(valid, 20, axis=0),
                                   np.repeat(boxes, 20, axis=0))
    np.testing.assert_allclose(crowd, np.repeat(looks, 20, axis=0))
    # A pose with no keypoint box is seen nowhere and gets an empty look.
    boxes[1] = np.nan
    looks, seen = appearance.describe(messi, positions.transpose(0, 2, 1), valid, boxes)
    assert not seen[1].any() and looks[1].sum() == 0 and seen[[0, 2]].all()


def test_cost_bench_contested_case_is_contested_and_not_duplicates(person):
    """Side by side, each pose is near its own track and a neighbour's, and no duplicate.

    So looks weigh every match (cascade.contested), and every person is tracked.
    """
    config = TrackerConfig()
    for poses in tracking_cost.crowd(person, 10, 20, contested=True)[::5]:
        positions = np.array([p.positions for p in poses])
        valid = np.array([p.keypoint_scores for p in poses]) >= config.keypoint_threshold
        boxes = keypoint_boxes(positions, valid)
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        similar = oks(positions, valid, positions, valid, areas, config.min_keypoints)
        np.fill_diagonal(similar, 0.0)
        assert (similar > cascade.CONTEST_SIMILARITY).any(axis=1).all()
        assert similar.max() < config.duplicate_oks
        inside = (boxes[:, :2] >= 0) & (boxes[:, 2:] <= tracking_cost.IMAGE_SIZE)
        assert inside.all()


def test_a_person_comes_back_recognised_by_an_earlier_view(person, messi, monkeypatch):
    """Seen in one look, then another (turned, other light), away 2 s, back in the first.

    The running look is by then a blur of both and below ``reid_min_similarity`` to the
    first; the gallery of looks as taken still holds it. With a gallery of one (the last
    look only), the person gets a new id.
    """
    from posenet_ros.stages.track import reid

    def sequence() -> list[int]:
        tracker = PoseTracker(TrackerConfig())
        got = []
        for i in range(20):                     # 8 frames in one look, 12 in another
            frame = on_canvas(messi, person, 10 * i, 0 if i < 8 else 90)
            got.append(tracker.update([at(person, 10 * i)], i / 10, frame)[0].track_id)
        for i in range(20):                     # 2 s away: longer than max_age
            tracker.update([], 2.0 + i / 10)
        for i in range(6):                      # back elsewhere, in the first look
            frame = on_canvas(messi, person, 600 - 10 * i)
            got.append(tracker.update([at(person, 600 - 10 * i)], 4.0 + i / 10,
                                      frame)[0].track_id)
        return got

    assert sequence()[-1] == 1
    monkeypatch.setattr(reid, "GALLERY", 1)
    assert sequence()[-1] == 2
