"""posenet_node speaks ROS peers' messages over real DDS: Foxglove annotations and REP-155 bodies.

The installed node runs in its own process with ``hri:=true`` and is fed consecutive vtest.avi
frames 0.1 s of stamps apart, so its tracker confirms people. Checked against the PoseArray
of the same frame: every ImageAnnotations point sits on its keypoint, each LINE_LIST segment
joins two visible keypoints of a skeleton edge; ``/humans/bodies/tracked`` lists a body per
confirmed track, its ``skeleton2d`` holds the PoseArray's keypoints in hri_msgs/Skeleton2D's
order (read from the message's own constants), normalised to the image, and the body's
topics go once frames without people pass the tracker's max_age.
"""
from __future__ import annotations

from builtin_interfaces.msg import Time
from dds_probe import bgr8_message, FRAME_ID, key, Probe, vtest_frames, wait_for
import numpy as np
from posenet_ros.core.keypoints import PART_IDS, SKELETON
from posenet_ros.outputs.pose_array import poses_from_pose_array
from posenet_ros.ros.parameters import BY_NAME
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

foxglove = pytest.importorskip("foxglove_msgs.msg", reason="foxglove_msgs not built: make build")
hri = pytest.importorskip("hri_msgs.msg", reason="hri_msgs not built: make build")

NS = "/interop"
PARAMS = {"providers": ["cpu"], "qos_reliability": "reliable", "hri": True}
MIN_SCORE = BY_NAME["min_keypoint_score"].default
STEP_NS = 100_000_000          # 0.1 s between frames: well within track_max_age
BASE_SEC = 7_000_000           # stamps no other test uses
LIBHRI_ROI_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                            durability=DurabilityPolicy.TRANSIENT_LOCAL)
RUN = 8                        # frames fed before the checks; the rest follow in the REP-155 one


def _header(index: int) -> Header:
    total = index * STEP_NS
    return Header(stamp=Time(sec=BASE_SEC + total // 10**9, nanosec=total % 10**9),
                  frame_id=FRAME_ID)


@pytest.fixture(scope="module")
def frames():
    return vtest_frames(list(range(40, 56)))   # people walking (10 frames/s, as the stamps)


@pytest.fixture(scope="module")
def probe(start_node):
    node = start_node(NS, **PARAMS)
    probe = Probe(NS)
    probe.wait_ready(node)
    yield probe
    probe.close()
    assert node.stop() == 0, node.log()


@pytest.fixture(scope="module")
def run(probe, frames):
    """Feed the frames with annotations and the tracked list subscribed; what came back."""
    annotations = probe.collect(foxglove.ImageAnnotations, "image_annotations")
    tracked = probe.collect(hri.IdsList, "/humans/bodies/tracked")
    wait_for(lambda: probe.node.count_subscribers(f"{NS}/image_annotations") > 0, 10,
             probe.spin, "the annotations subscription")
    replies = [probe.request(bgr8_message(bgr, _header(i)))
               for i, bgr in enumerate(frames[:RUN])]
    wait_for(lambda: len(annotations) >= RUN and len(tracked) >= RUN, 10,
             probe.spin, "annotations and tracked lists of every frame")
    return replies, annotations, tracked


def _by_stamp(annotations) -> dict:
    return {key(a.points[0].timestamp): a for a in annotations if a.points}


def test_annotation_points_sit_on_keypoints(run):
    replies, annotations, _ = run
    by_stamp = _by_stamp(annotations)
    checked = 0
    for reply in replies:
        poses = poses_from_pose_array(reply)
        visible = [p for p in poses if (p.keypoint_scores >= MIN_SCORE).any()]
        if not visible:
            continue
        msg = by_stamp[key(reply.header.stamp)]
        dots = [a for a in msg.points if a.type == a.POINTS]
        lines = [a for a in msg.points if a.type == a.LINE_LIST]
        assert len(dots) == len(visible)
        for dot, pose in zip(dots, visible):
            shown = pose.keypoint_scores >= MIN_SCORE
            got = np.array([(p.x, p.y) for p in dot.points])
            np.testing.assert_allclose(got, pose.positions[shown], atol=1e-3)
        for line in lines:
            assert len(line.points) % 2 == 0
            owners = [p for p, d in zip(visible, dots) if d.outline_color == line.outline_color]
            for a, b in zip(line.points[::2], line.points[1::2]):
                # Each segment joins both keypoints of one skeleton edge of its pose, each
                # shown (by position: nearest-keypoint matching is ambiguous where two coincide).
                assert any(
                    np.allclose(pose.positions[list(edge)], [(a.x, a.y), (b.x, b.y)], atol=1e-3)
                    and (pose.keypoint_scores[list(edge)] >= MIN_SCORE).all()
                    for pose in owners for edge in SKELETON), ((a.x, a.y), (b.x, b.y))
        tracked = sorted(p.track_id for p in visible if p.track_id > 0)
        assert sorted(int(t.text.split()[1]) for t in msg.texts) == tracked
        checked += 1
    assert checked >= len(replies) // 2, "too few frames with people to check"


def _skeleton_order() -> list[int]:
    """Our part id per Skeleton2D code, from the message's constants (the neck: -1)."""
    order = {}
    for name in dir(hri.Skeleton2D):
        value = getattr(hri.Skeleton2D, name)
        if name.isupper() and isinstance(value, int) and not name.startswith("_"):
            side, _, part = name.lower().partition("_")
            ours = (side + part.capitalize()) if part else side
            order[value] = PART_IDS.get(ours, -1)
    assert sorted(order) == list(range(18)) and list(order.values()).count(-1) == 1
    return [order[i] for i in range(18)]


def test_rep155_bodies_come_with_tracks_and_go(probe, run, frames):
    replies, _, tracked = run
    last = replies[-1]
    confirmed = [p for p in last.poses if p.track_id > 0]
    assert confirmed, "no track confirmed over the frames: nothing to check"
    lists = {key(t.header.stamp): t for t in tracked}
    ids = sorted(lists[key(last.header.stamp)].ids)
    assert len(ids) >= len(confirmed)
    assert all(len(i) <= 8 and i.isalnum() for i in ids)   # short strings
    bodies = {int(i[1:], 36): i for i in ids}       # b<track id in base 36>
    assert {p.track_id for p in confirmed} <= set(bodies)
    for body in bodies.values():
        for leaf, kind in (("skeleton2d", "Skeleton2D"), ("roi", "NormalizedRegionOfInterest2D")):
            topic = f"/humans/bodies/{body}/{leaf}"
            assert probe.node.count_publishers(topic) == 1, topic
            info = probe.node.get_publishers_info_by_topic(topic)[0]
            assert info.topic_type == f"hri_msgs/msg/{kind}"

    skeletons = {tid: probe.collect(hri.Skeleton2D, f"/humans/bodies/{body}/skeleton2d")
                 for tid, body in bodies.items()}
    rois = []     # read as libhri does: reliable, transient_local (the last one on joining)
    probe.node.create_subscription(hri.NormalizedRegionOfInterest2D,
                                   f"/humans/bodies/{bodies[confirmed[0].track_id]}/roi",
                                   rois.append, LIBHRI_ROI_QOS)
    replies = {}
    for n in range(RUN, len(frames)):      # the video goes on, until our reader is matched
        reply = probe.request(bgr8_message(frames[n], _header(n)))
        replies[key(reply.header.stamp)] = reply
        try:
            wait_for(lambda: any(skeletons.values()), 1, probe.spin, "a skeleton2d")
            break
        except AssertionError:
            continue
    tid, got_msgs = next((t, m) for t, m in skeletons.items() if m)
    msg = got_msgs[-1]
    reply = replies[key(msg.header.stamp)]
    sent = next(p for p in reply.poses if p.track_id == tid)
    xy = np.array([(k.x, k.y) for k in sent.keypoints]) / (reply.image_width, reply.image_height)
    score = np.array([k.score for k in sent.keypoints])
    got = np.array([(p.x, p.y, p.c) for p in msg.skeleton])
    for code, part in enumerate(_skeleton_order()):
        if part < 0:     # the neck: between the shoulders, as sure as the less sure one
            sh = [PART_IDS["leftShoulder"], PART_IDS["rightShoulder"]]
            want = (*xy[sh].mean(axis=0), score[sh].min())
        else:
            want = (*xy[part], score[part])
        np.testing.assert_allclose(got[code], want, atol=1e-5, err_msg=f"code {code}")

    wait_for(lambda: rois, 5, probe.spin, "a roi as libhri reads it")
    assert 0.0 <= rois[-1].xmin < rois[-1].xmax <= 1.0 and 0.0 <= rois[-1].ymin < rois[-1].ymax

    # Frames with nobody, past the tracker's max_age: the body and its topics go.
    empty = np.zeros_like(frames[0])
    for n in range(4):
        probe.request(bgr8_message(empty, _header(len(frames) + 5 + 5 * n)))
    for body in bodies.values():
        topic = f"/humans/bodies/{body}/skeleton2d"
        wait_for(lambda: probe.node.count_publishers(topic) == 0, 10, probe.spin,
                 f"{topic} to go")
    final = max(tracked, key=lambda t: (t.header.stamp.sec, t.header.stamp.nanosec))
    assert list(final.ids) == []


def test_a_missing_message_package_is_named_once_and_its_feature_stays_off(
        start_node, frames, monkeypatch):
    """Without foxglove_msgs and hri_msgs (a Kilted install has no hri_msgs) the node runs."""
    import os
    hidden = ("foxglove_msgs", "hri_msgs")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in os.environ["PYTHONPATH"].split(os.pathsep)
        if not any(f"/{name}/" in p for name in hidden)))
    node = start_node(NS + "_bare", **PARAMS)
    probe = Probe(NS + "_bare")
    try:
        probe.wait_ready(node)
        for i, bgr in enumerate(frames[:4]):
            assert probe.request(bgr8_message(bgr, _header(100 + i))).poses
        assert probe.node.count_publishers(f"{NS}_bare/image_annotations") == 0
        assert probe.node.count_publishers("/humans/bodies/tracked") <= 1   # the other node's
    finally:
        probe.close()
        assert node.stop() == 0, node.log()
    log = node.log()
    for name in hidden:
        lines = [line for line in log.splitlines() if f"the message package {name}" in line]
        assert len(lines) == 1, log
        assert f"ros-$ROS_DISTRO-{name.replace('_', '-')}" in lines[0]
