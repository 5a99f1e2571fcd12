"""The reactions take their distances in the PoseArray's 3D frame (posenet_node's target_frame).

A person seen by a camera mounted on a robot, published once in the camera's optical frame
and once in base_link (the mount applied by hand with scipy): read from base_link, distances
are from base_link's origin, and the behaviour reacts exactly as it would to a camera placed
at base_link looking along its x axis.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from posenet_ros.bag.typestore import typestore
from posenet_ros.core.keypoints import PART_NAMES
from posenet_ros.reactions.config import FollowConfig, TargetConfig
from posenet_ros.reactions.person import frame_from_pose_array, Person
from posenet_ros.reactions.reactor import Reactor
import pytest
from reaction_poses import detect_person, HEIGHT, person, place, point_arm, WIDTH
from scipy.spatial.transform import Rotation

pytestmark = pytest.mark.unit

OPTICAL = "camera_optical_frame"
# Camera 0.3 m ahead of base_link, 1.2 m up, 0.1 m to the left, yawed 10 degrees left and
# pitched 5 degrees down; optical axes as REP 103 mounts them (z forward, x right, y down).
MOUNT_T = np.array([0.3, 0.1, 1.2])
MOUNT_R = (Rotation.from_euler("zy", [10, 5], degrees=True)
           * Rotation.from_euler("xyz", [-90, 0, -90], degrees=True))
# A camera at base_link's origin looking along its x axis sees body axes as optical ones.
LEVEL = Rotation.from_euler("xyz", [-90, 0, -90], degrees=True).inv()


def _message(people: list[Person], stamp: float, frame_id_3d: str):
    t = typestore().types
    point, keypoint = t["geometry_msgs/msg/Point"], t["posenet_ros/msg/Keypoint"]
    poses = []
    for who in people:
        keypoints = [keypoint(part_id=i, part_name=PART_NAMES[i], x=float(x), y=float(y),
                              score=float(s), valid_3d=True,
                              position=point(**dict(zip("xyz", map(float, p)))))
                     for i, ((x, y), s, p) in enumerate(zip(who.keypoints, who.scores,
                                                            who.points))]
        poses.append(t["posenet_ros/msg/Pose"](
            score=0.9, keypoints=keypoints, track_id=who.track_id, track_age=1.0,
            box_x_min=0.0, box_y_min=0.0, box_x_max=0.0, box_y_max=0.0, valid_3d=True,
            position=point(**dict(zip("xyz", map(float, who.position))))))
    header = t["std_msgs/msg/Header"](
        stamp=t["builtin_interfaces/msg/Time"](sec=int(stamp), nanosec=int(stamp % 1 * 1e9)),
        frame_id=OPTICAL)
    return t["posenet_ros/msg/PoseArray"](
        header=header, image_width=WIDTH, image_height=HEIGHT, poses=poses, model="posenet",
        decoder="multi", output_stride=16, input_width=257, input_height=257,
        flip_horizontal=False, score_threshold=0.5, nms_radius=20.0, max_detections=10,
        tracking=True, smoothing=False, depth=True, frame_id_3d=frame_id_3d)


def _moved(who: Person, rotation: Rotation, translation=np.zeros(3)) -> Person:
    return replace(who, points=rotation.apply(who.points) + translation,
                   position=rotation.apply(who.position) + translation)


@pytest.fixture(scope="module")
def seen():
    """Return a person pointing, 2.5 m ahead of the camera, left of centre, in optical 3D."""
    pose = detect_person()
    keypoints = point_arm(place(pose.positions, WIDTH / 2.0 - 80), "right")
    return person(pose, keypoints, track_id=3, distance=2.5)


def test_distances_are_from_the_target_frames_origin(seen):
    in_base = _moved(seen, MOUNT_R, MOUNT_T)
    frame = frame_from_pose_array(_message([in_base], 10.0, "base_link"))
    assert frame.frame_3d == "base_link" and not frame.optical
    (read,) = frame.people
    assert read.distance() == pytest.approx(np.linalg.norm(in_base.position), abs=1e-5)
    assert abs(read.distance() - np.linalg.norm(seen.position)) > 0.1   # not the camera's
    optical = frame_from_pose_array(_message([seen], 10.0, OPTICAL))
    assert optical.optical and optical.frame_3d == OPTICAL
    assert optical.people[0].distance() == pytest.approx(np.linalg.norm(seen.position),
                                                         abs=1e-5)


def test_base_link_3d_reacts_as_a_camera_at_base_link_would(seen):
    in_base = _moved(seen, MOUNT_R, MOUNT_T)
    at_base = _moved(in_base, LEVEL)        # what a level camera at base_link would measure
    config = (FollowConfig(enabled=True), TargetConfig(switch_frames=1, target_timeout=0.0))
    from_base, from_camera = Reactor(target=config[1], follow=config[0]), \
        Reactor(target=config[1], follow=config[0])
    events = []
    for i in range(12):
        stamp = 10.0 + i * 0.1
        base_frame = frame_from_pose_array(_message([in_base], stamp, "base_link"))
        a = from_base.step(base_frame, now=stamp)
        b = from_camera.step(frame_from_pose_array(_message([at_base], stamp, OPTICAL)),
                             now=stamp)
        assert a.command.linear == pytest.approx(b.command.linear, abs=1e-6)
        assert a.command.angular == pytest.approx(b.command.angular, abs=1e-6)
        assert a.command.angular != 0.0 or i == 0
        assert [e.kind for e in a.events] == [e.kind for e in b.events]
        events += [(base_frame, e) for e in a.events]
    # Events go out in base_link's own axes: the person's position as published.
    positioned = [(f, e) for f, e in events if e.position is not None]
    assert positioned
    for frame, event in positioned:
        np.testing.assert_allclose(frame.message_axes(event.position), in_base.position,
                                   atol=1e-5)
    pointing = [(f, e) for f, e in events if e.direction_3d]
    assert pointing, [e.kind for _, e in events]
    for frame, event in pointing:
        arm = in_base.points[10] - in_base.points[6]    # right shoulder to right wrist
        np.testing.assert_allclose(frame.message_axes(event.direction),
                                   arm / np.linalg.norm(arm), atol=1e-5)
