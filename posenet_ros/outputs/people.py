"""``geometry_msgs/PoseArray`` of the people placed in 3D, with the caller's generated classes.

The standard type any ROS tool reads (RViz's PoseArray display, a nav2 goal picker): one pose
per person with a 3D position (metres, in the header's frame: the image's optical frame, or
the node's target_frame), orientation left as identity.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from posenet_ros.core.pose import Pose


class PeopleClasses(NamedTuple):
    """The generated classes a geometry_msgs/PoseArray is made of."""

    pose_array: type
    pose: type
    point: type


def build_people_array(classes: PeopleClasses, header, poses: Sequence[Pose]):
    """Fill a geometry_msgs/PoseArray with the people of ``poses`` that have a 3D position.

    ``header.frame_id`` must name the frame the positions are in (RViz places them by it).
    """
    people = []
    for pose in poses:
        if pose.position_3d is not None:
            x, y, z = pose.position_3d.tolist()
            people.append(classes.pose(position=classes.point(x=x, y=y, z=z)))
    return classes.pose_array(header=header, poses=people)
