"""The hint a silent pose node logs: which image topics exist, and the remap or transport.

Unit tests on graphs as ``get_topic_names_and_types()`` returns them, then the same over
real DDS: a camera publisher under another name, and one that offers only compressed frames.
"""
from __future__ import annotations

from pathlib import Path
import time

from posenet_ros.ros.input_hint import COMPRESSED, IMAGE, input_hint, InputHints, MAX_LISTED
import pytest


def hint(subscribed, graph, compressed=False, remap_from="image"):
    """input_hint over ``graph``: {topic: (types, publisher count)}."""
    return input_hint(subscribed, compressed, [(n, t) for n, (t, _) in graph.items()],
                      lambda name: graph[name][1], remap_from)


def test_the_camera_under_another_name_gets_a_remap():
    # camera_node published image_raw, posenet_node listened on image: 0 poses, no word.
    graph = {"/image": ([IMAGE], 0), "/image_raw": ([IMAGE], 1),
             "/image_raw/compressed": ([COMPRESSED], 1), "/poses": (["posenet_ros/msg/Pose"], 1)}
    line = hint("/image", graph)
    assert line.startswith("no publisher on /image;")
    assert "remap image:=/image_raw" in line and "/poses" not in line
    assert "\n" not in line


def test_only_the_compressed_topic_exists():
    graph = {"/cam/image_raw": ([IMAGE], 0), "/cam/image_raw/compressed": ([COMPRESSED], 2)}
    assert "set image_transport:=compressed" in hint("/cam/image_raw", graph)


def test_compressed_subscription_but_only_raw_frames():
    graph = {"/cam/image_raw": ([IMAGE], 1), "/cam/image_raw/compressed": ([COMPRESSED], 0)}
    line = hint("/cam/image_raw/compressed", graph, compressed=True)
    assert "set image_transport:=raw" in line


def test_compressed_subscription_remaps_the_compressed_name():
    graph = {"/image/compressed": ([COMPRESSED], 0),
             "/front/image_raw/compressed": ([COMPRESSED], 1)}
    line = hint("/image/compressed", graph, compressed=True)
    assert "remap image/compressed:=/front/image_raw/compressed" in line


def test_only_compressed_elsewhere_names_transport_and_remap():
    graph = {"/image": ([IMAGE], 0), "/front/image_raw/compressed": ([COMPRESSED], 1)}
    line = hint("/image", graph)
    assert "image_transport:=compressed" in line
    assert "remap image/compressed:=/front/image_raw/compressed" in line


def test_no_image_topic_at_all_names_the_domain(monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", "42")
    graph = {"/image": ([IMAGE], 0), "/viewer/image": ([IMAGE], 0)}   # subscribers only
    line = hint("/image", graph)
    assert "is the camera running" in line and "ROS_DOMAIN_ID 42" in line
    assert "/viewer/image" not in line


def test_several_cameras_are_listed_not_guessed():
    cams = [f"/cam{i}/image_raw" for i in range(MAX_LISTED + 2)]
    graph = {"/image": ([IMAGE], 0), **{c: ([IMAGE], 1) for c in cams}}
    line = hint("/image", graph, remap_from="image")
    assert "remap image:=<one of them>" in line
    assert all(c in line for c in cams[:MAX_LISTED]) and cams[-1] not in line
    assert "and 2 more" in line


class FakeNode:
    """The graph calls InputHints makes, on a graph the test edits."""

    def __init__(self, graph, own=()):
        self.graph = graph
        self.own = own
        self.logged = []

    def get_name(self):
        return "posenet_node"

    def get_namespace(self):
        return "/"

    def get_publisher_names_and_types_by_node(self, name, namespace):
        assert (name, namespace) == ("posenet_node", "/")
        return [(t, self.graph[t][0]) for t in self.own]

    def count_publishers(self, topic):
        return self.graph.get(topic, ([], 0))[1]

    def get_topic_names_and_types(self):
        return [(n, t) for n, (t, _) in self.graph.items()]

    def get_logger(self):
        return self

    def warning(self, text):
        self.logged.append(text)


class FakeSubscription:
    def __init__(self, topic, msg_type):
        self.topic_name, self.msg_type = topic, msg_type


class Image:           # only the class name matters to InputHints
    pass


def test_logged_once_per_silence_after_the_delay():
    graph = {"/image": ([IMAGE], 0), "/image_raw": ([IMAGE], 1)}
    node = FakeNode(graph)
    hints = InputHints(node, after=5.0)
    sub = FakeSubscription("/image", Image)
    assert [hints.check(sub, now=t) for t in (100.0, 102.0, 104.9)] == [None] * 3
    assert "remap image:=/image_raw" in hints.check(sub, now=105.0)
    assert hints.check(sub, now=200.0) is None
    assert len(node.logged) == 1
    graph["/image"] = ([IMAGE], 1)        # a publisher came ...
    assert hints.check(sub, now=201.0) is None
    graph["/image"] = ([IMAGE], 0)        # ... and went: a new silence, a new hint
    assert hints.check(sub, now=202.0) is None
    assert hints.check(sub, now=207.5) is not None
    assert len(node.logged) == 2


def test_the_nodes_own_outputs_are_no_source():
    # posenet_node publishes image_annotated, a sensor_msgs/Image, itself.
    graph = {"/image": ([IMAGE], 0), "/image_annotated": ([IMAGE], 1),
             "/cam/image_raw": ([IMAGE], 1)}
    node = FakeNode(graph, own=["/image_annotated"])
    line = InputHints(node, after=0.0).check(FakeSubscription("/image", Image), now=1.0)
    assert "remap image:=/cam/image_raw" in line and "image_annotated" not in line


def test_over_dds(ros_context):
    """Real publishers in the graph: another name, and a compressed-only camera."""
    import rclpy
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image as RosImage
    camera = Node("hint_camera", namespace="/hint_dds")
    listener = Node("hint_listener", namespace="/hint_dds")
    try:
        camera.create_publisher(RosImage, "front/image_raw", 1)
        listener.create_publisher(RosImage, "image_annotated", 1)    # its own output
        camera.create_publisher(CompressedImage, "/hint_dds_packed/image_raw/compressed", 1)
        raw = listener.create_subscription(RosImage, "image", lambda m: None,
                                           qos_profile_sensor_data)
        packed = listener.create_subscription(RosImage, "/hint_dds_packed/image_raw",
                                              lambda m: None, qos_profile_sensor_data)
        hints = InputHints(listener, after=0.0)
        found = {}
        for _ in range(100):     # discovery: up to 10 s
            rclpy.spin_once(listener, timeout_sec=0.1)
            names = {n for n, _ in listener.get_topic_names_and_types()}
            if {"/hint_dds/front/image_raw", "/hint_dds_packed/image_raw/compressed"} <= names:
                found = {"raw": hints.check(raw), "packed": hints.check(packed)}
                break
        assert found, "the publishers were not discovered in 10 s"
        assert found["raw"].startswith("no publisher on /hint_dds/image;")
        assert "remap image:=/hint_dds/front/image_raw" in found["raw"]
        assert "set image_transport:=compressed" in found["packed"]
    finally:
        camera.destroy_node()
        listener.destroy_node()


def test_posenet_node_logs_the_hint(start_node):
    """The installed posenet_node, alone, with a camera publishing under another name."""
    from posenet_ros.ros import node as node_module
    if "InputHints" not in Path(node_module.__file__).read_text():
        pytest.skip("posenet_node does not call InputHints yet (node.py's diagnostics timer)")
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image as RosImage
    camera = Node("hint_cam", namespace="/hint_node")
    try:
        camera.create_publisher(RosImage, "cam/image_raw", 1)
        node = start_node("/hint_node", providers=["cpu"])
        deadline = time.monotonic() + 60
        while "remap image:=/hint_node/cam/image_raw" not in node.log():
            assert time.monotonic() < deadline, node.log()[-3000:]
            rclpy.spin_once(camera, timeout_sec=0.2)
        assert node.log().count("no publisher on /hint_node/image") == 1
    finally:
        camera.destroy_node()
