"""``body_<id>`` TF frames of posenet_node (``body_frames:=true`` with ``use_depth``).

Each confirmed track with both hips in 3D gets a transform from the image's frame to
``body_<id>`` at the image's stamp (:mod:`posenet_ros.outputs.body_frames`), ``<id>`` being its
REP-155 body id (:func:`~posenet_ros.outputs.rep155.body_id`, ``_<k>`` after it for the
k-th stream). Sent through tf2_ros's TransformBroadcaster where tf2_ros imports (every ROS
install), else as tf2_msgs/TFMessage on ``/tf`` with the broadcaster's QoS. A dead track's
frame is simply no longer sent.
"""
from __future__ import annotations

from types import ModuleType

from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
from posenet_ros.core.pose import UNTRACKED
from posenet_ros.outputs.body_frames import body_transform
from posenet_ros.outputs.rep155 import body_id
from posenet_ros.stages.pipeline import PipelineFrame
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.VOLATILE)     # tf2_ros's DynamicBroadcasterQoS


class BodyFrames:
    """The body frames of one node, for all its streams."""

    def __init__(self, node, tf2_msgs: ModuleType | None) -> None:
        self._node = node
        self._suffixes: dict[str, str] = {}
        try:
            from tf2_ros import TransformBroadcaster
        except ImportError:
            TransformBroadcaster = None
        if TransformBroadcaster is not None:
            self._broadcaster = TransformBroadcaster(node)
            self._publisher = None
        elif tf2_msgs is None:
            raise ImportError("neither tf2_ros nor tf2_msgs imports: install ros-$ROS_DISTRO-"
                              "tf2-ros (or, in the development venv, `make build`)")
        else:
            self._broadcaster = None
            self._tf_message = tf2_msgs.TFMessage
            self._publisher = node.create_publisher(tf2_msgs.TFMessage, "/tf", TF_QOS)

    def publish(self, stream: str, header, frame: PipelineFrame) -> int:
        """Send the frames of this image's confirmed people; return how many were sent."""
        suffix = self._suffixes.setdefault(
            stream, f"_{len(self._suffixes)}" if self._suffixes else "")
        transforms = []
        for pose in frame.poses:
            if pose.track_id == UNTRACKED or (placed := body_transform(pose)) is None:
                continue
            (tx, ty, tz), (qx, qy, qz, qw) = (v.tolist() for v in placed)
            out = TransformStamped(child_frame_id=f"body_{body_id(pose.track_id)}{suffix}",
                                   transform=Transform(
                                       translation=Vector3(x=tx, y=ty, z=tz),
                                       rotation=Quaternion(x=qx, y=qy, z=qz, w=qw)))
            out.header = header
            transforms.append(out)
        if transforms:
            if self._broadcaster is not None:
                self._broadcaster.sendTransform(transforms)
            else:
                self._publisher.publish(self._tf_message(transforms=transforms))
        return len(transforms)

    def close(self) -> None:
        """Destroy the /tf publisher (the broadcaster's goes with the node)."""
        if self._publisher is not None:
            self._node.destroy_publisher(self._publisher)
            self._publisher = None
