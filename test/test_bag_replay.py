"""Live replay of a bag through the installed posenet_node, and the replay launch file.

``ros2 bag play`` is not on PyPI, so a player in the test process does what it does: the bag's
raw CDR bytes published on the recorded topics at the recorded spacing (scaled by RATE), with
the recording's time on /clock (the node runs with use_sim_time, as bag_replay.launch.py
starts it). At a rate the node keeps up with, every image must come back as exactly one
PoseArray with its stamp, equal to what the offline ``posenet-ros bag`` writes for that frame:
the same poses, the same track ids (also across a backwards stamp jump, where both restart
them) and, with an aligned depth topic, the same 3D keypoints.
"""
from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from bag_fixtures import (
    assert_same_poses, DEPTH_TOPIC, IMAGE_TOPIC, read_topic, require_model, sample_video,
    stamp_ns, video_frames, write_camera_bag)
import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILE = REPO / "launch" / "bag_replay.launch.py"
PARAMS_FILE = REPO / "config" / "posenet.yaml"
N_REPLAY = 30
N_LOOP = 20    # frames of each pass of the looping recording
RATE = 0.5     # 5 frames/s of vtest.avi's 10: well within what the node does on 2 CPU cores
NS = "/replay"


def why_no_live_replay() -> str | None:
    try:
        import rclpy  # noqa: F401
        from rosgraph_msgs.msg import Clock  # noqa: F401
    except ImportError as exc:
        return f"rclpy is not importable ({exc}): run the tests through `make test`"
    try:
        from posenet_ros.msg import PoseArray  # noqa: F401
    except ImportError as exc:
        return (f"posenet_ros messages are not built/sourced ({exc}): run `make build` and "
                "source install/setup.bash (or use `make test`)")
    return None


def node_command() -> list[str]:
    """Return the installed posenet_node command, as `ros2 run` would start it."""
    from ament_index_python.packages import get_package_prefix, PackageNotFoundError
    try:
        script = Path(get_package_prefix("posenet_ros")) / "lib" / "posenet_ros" / "posenet_node"
    except PackageNotFoundError:
        pytest.skip("posenet_ros is not installed in an ament prefix: `make build`")
    return [sys.executable, str(script)]


class Player:
    """``ros2 bag play --clock`` in miniature, plus a PoseArray collector."""

    def __init__(self, bag: Path, poses_topic: str) -> None:
        import rclpy
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from rosbags.rosbag2 import Reader
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        from posenet_ros.msg import PoseArray
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("bag_player", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        types = {"sensor_msgs/msg/Image": Image, "sensor_msgs/msg/CameraInfo": CameraInfo,
                 "sensor_msgs/msg/CompressedImage": CompressedImage}
        with Reader(bag) as reader:
            self.publishers = {c.topic: self.node.create_publisher(types[c.msgtype], c.topic,
                                                                   reliable)
                               for c in reader.connections}
            self.messages = [(c.topic, t, bytes(raw)) for c, t, raw in reader.messages()]
        self.clock_msg = Clock
        self.clock = self.node.create_publisher(Clock, "/clock", 10)
        self.received = []
        self.node.create_subscription(PoseArray, poses_topic, self.received.append, reliable)

    def wait_for(self, predicate, timeout: float, what) -> None:
        """Spin until ``predicate()``; ``what`` (text, or a callable giving it) names it."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for "
                                     f"{what() if callable(what) else what}")
            self.executor.spin_once(timeout_sec=0.05)

    def spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.05)

    def play(self, rate: float) -> None:
        from builtin_interfaces.msg import Time
        start, first = time.monotonic(), self.messages[0][1]
        for topic, log_time, raw in self.messages:
            due = start + (log_time - first) / 1e9 / rate
            while (left := due - time.monotonic()) > 0:
                self.executor.spin_once(timeout_sec=min(left, 0.02))
            self.clock.publish(self.clock_msg(clock=Time(sec=log_time // 10**9,
                                                         nanosec=log_time % 10**9)))
            self.publishers[topic].publish(raw)

    def close(self) -> None:
        import rclpy
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def replay_through_node(tmp_path, bag: Path, topic: str, transport: str = "raw",
                        extra: tuple[str, ...] = ()) -> list:
    """Play ``bag`` into a fresh installed posenet_node; return its PoseArrays, 1:1 checked."""
    images = read_topic(bag, topic)
    log_path = tmp_path / "posenet_node.log"
    with open(log_path, "w") as log:
        node = subprocess.Popen(
            [*node_command(), "--ros-args", "-r", f"__ns:={NS}",
             "-r", f"image:={IMAGE_TOPIC}", "-r", f"image/compressed:={IMAGE_TOPIC}/compressed",
             "-r", "camera_info:=/camera/camera_info",
             "--params-file", str(PARAMS_FILE), "-p", f"image_transport:={transport}",
             "-p", "use_sim_time:=true", *extra,
             "-p", "providers:=[cpu]", "-p", "qos_reliability:=reliable", "-p", "qos_depth:=10"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=os.environ.copy())
    player = Player(bag, f"{NS}/poses")
    try:
        pubs = [player.publishers[topic]] + [  # image, then camera_info and depth if used
            pub for name, pub in player.publishers.items()
            if name != topic and (name != DEPTH_TOPIC or "use_depth:=true" in extra)]
        player.wait_for(lambda: all(any(i.node_name == "posenet_node" for i in
                                        player.node.get_subscriptions_info_by_topic(
                                            pub.topic_name)) for pub in pubs) and
                        all(pub.get_subscription_count() > 0 for pub in pubs) and
                        player.node.count_publishers(f"{NS}/poses") > 0, 60,
                        lambda: f"posenet_node to subscribe {[p.topic_name for p in pubs]}:\n"
                                f"{log_path.read_text()}")
        player.spin_for(1.0)    # the node's side of discovery (its readers matching ours)
        player.play(RATE)
        player.wait_for(lambda: len(player.received) >= len(images), 30,
                        lambda: f"{len(images)} PoseArrays (got {len(player.received)}):\n"
                                f"{log_path.read_text()}")
        player.spin_for(1.0)                   # a duplicate or straggler would arrive now
    finally:
        player.close()
        node.send_signal(signal.SIGINT)
        try:
            code = node.wait(15)
        except subprocess.TimeoutExpired:
            node.kill()
            raise AssertionError(f"posenet_node ignored SIGINT:\n{log_path.read_text()}")
    assert code == 0, log_path.read_text()
    got = [stamp_ns(m.header) for m in player.received]
    assert got == [stamp_ns(m.header) for _, m in images]       # 1:1, in order, none dropped
    return player.received


@pytest.mark.parametrize("transport", ["raw", "compressed"])
def test_replay_through_node_maps_every_image_to_one_pose_array(tmp_path, transport):
    reason = why_no_live_replay()
    if reason:
        pytest.skip(reason)
    require_model()
    from posenet_ros.bag.analyze import analyze, BagJob
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    from posenet_ros.estimator import PoseEstimator
    replay_bag = tmp_path / "bag"
    write_video_bag(VideoBagJob(sample_video(), replay_bag, max_frames=N_REPLAY,
                                compressed=transport == "compressed"))
    topic = IMAGE_TOPIC + ("/compressed" if transport == "compressed" else "")
    analyze(BagJob(replay_bag, topic, tmp_path / "offline"), PoseEstimator(providers=("cpu",)))
    offline = {stamp_ns(m.header): m for _, m in
               read_topic(tmp_path / "offline" / "poses", IMAGE_TOPIC + "/poses")}
    images = read_topic(replay_bag, topic)
    received = replay_through_node(tmp_path, replay_bag, topic, transport)
    for msg, (_, image) in zip(received, images):
        assert msg.header.frame_id == image.header.frame_id
        want = offline[stamp_ns(msg.header)]
        assert (msg.model, msg.input_width, msg.input_height) == (
            want.model, want.input_width, want.input_height)
        assert_same_poses(msg, [_pose(p) for p in want.poses], want.image_width,
                          want.image_height)
        assert [p.track_id for p in msg.poses] == [p.track_id for p in want.poses]
    assert any(p.track_id for m in received for p in m.poses)


def test_node_ids_and_3d_equal_the_bag_tools_on_a_looping_rgbd_recording(tmp_path):
    """A sequence played twice (stamps restart) with depth: ids reset, ids and 3D as offline."""
    reason = why_no_live_replay()
    if reason:
        pytest.skip(reason)
    require_model()
    import numpy as np
    from posenet_ros.bag.analyze import analyze, BagJob
    from posenet_ros.bag.from_video import EPOCH_NS
    from posenet_ros.bag.depth_topics import DepthTopics
    from posenet_ros.estimator import PoseEstimator
    frames = video_frames(N_LOOP)
    period = 100_000_000
    wall = np.full(frames[0].shape[:2], 3.0)
    k = np.array([[600.0, 0.0, 380.0], [0.0, 600.0, 290.0], [0.0, 0.0, 1.0]])
    bag = tmp_path / "bag"
    # Depth and CameraInfo logged just before their frame: the live node has them in hand.
    # A pause between the passes lets the node finish the first before the second's depth
    # (stamps 2 s back) resets its depth buffer, as it must.
    logs = [EPOCH_NS + i * period + (i >= N_LOOP) * 10 * period for i in range(2 * N_LOOP)]
    write_camera_bag(bag, frames + frames, [EPOCH_NS + i * period for i in range(N_LOOP)] * 2,
                     log_times_ns=logs, k=k,
                     depth=[("16UC1", wall)] * (2 * N_LOOP), depth_lag_ns=-period // 2,
                     info_lag_ns=-period // 2)
    analyze(BagJob(bag, IMAGE_TOPIC, tmp_path / "offline", depth=DepthTopics(DEPTH_TOPIC)),
            PoseEstimator(providers=("cpu",)))
    offline = [m for _, m in read_topic(tmp_path / "offline" / "poses", IMAGE_TOPIC + "/poses")]
    received = replay_through_node(tmp_path, bag, IMAGE_TOPIC, extra=(
        "-p", "use_depth:=true", "-r", f"depth/image:={DEPTH_TOPIC}"))
    ids = [[p.track_id for p in m.poses] for m in received]
    assert ids == [[p.track_id for p in m.poses] for m in offline]
    assert ids[N_LOOP:] == ids[:N_LOOP] and any(i for frame in ids for i in frame)
    assert [m.depth for m in offline] == [True] * (2 * N_LOOP)
    live_depth = "".join("D" if m.depth else "." for m in received)
    # The node pairs from the first frame after it took a CameraInfo and then on every frame;
    # on this shared machine it sometimes takes its first CameraInfo only 1-2 s into the
    # replay (reported; not the bag tool's doing), so 3D is compared where the node has it.
    assert live_depth.lstrip(".") == "D" * len(live_depth.lstrip(".")), live_depth
    assert live_depth.count("D") >= N_LOOP, live_depth
    for live, want in ((a, b) for a, b in zip(received, offline) if a.depth):
        for got_pose, want_pose in zip(live.poses, want.poses):
            assert got_pose.valid_3d == want_pose.valid_3d
            for a, b in zip(got_pose.keypoints, want_pose.keypoints):
                assert a.valid_3d == b.valid_3d
                assert (a.position.x, a.position.y, a.position.z) == pytest.approx(
                    (b.position.x, b.position.y, b.position.z), abs=1e-6)


def _pose(msg):
    """Convert an offline PoseArray entry to an engine Pose (the reference for the live one)."""
    import numpy as np
    from posenet_ros.core.pose import Pose
    return Pose(msg.score, np.array([(k.x, k.y) for k in msg.keypoints], dtype=np.float64),
                np.array([k.score for k in msg.keypoints], dtype=np.float64))


def test_launch_file_plays_the_bag_on_sim_time(tmp_path):
    """Evaluate the launch description with the real launch / launch_ros (ROS installs)."""
    try:
        importlib.import_module("launch.actions")
        importlib.import_module("launch_ros.actions")
    except ImportError as exc:
        pytest.skip(f"launch/launch_ros are not on PyPI; needs a ROS 2 install ({exc})")
    import yaml
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument, ExecuteProcess, TimerAction
    from launch.utilities import perform_substitutions
    from launch_ros.actions import Node
    spec = importlib.util.spec_from_file_location("bag_replay_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    declared = {e.name: e for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    assert {"bag", "topic", "rate", "params_file"} <= set(declared)
    params_file = tmp_path / "p.yaml"
    params_file.write_text("/**:\n  ros__parameters:\n    decoder: single\n")
    context = LaunchContext()
    context.launch_configurations.update({
        "bag": "/data/run1", "topic": "/front/image_raw", "rate": "0.5",
        "camera_info_topic": "/front/camera_info", "image_transport": "compressed",
        "namespace": "", "params_file": str(params_file), "start_delay": "3.0",
        "qos_reliability": "reliable"})
    timer = next(e for e in description.entities if isinstance(e, TimerAction))
    play = next(a for a in timer.actions if isinstance(a, ExecuteProcess))
    cmd = [perform_substitutions(context, part) for part in play.cmd]
    assert cmd == ["ros2", "bag", "play", "/data/run1", "--clock", "--rate", "0.5"]
    node = next(e for e in description.entities if isinstance(e, Node))
    assert (node.node_package, node.node_executable) == ("posenet_ros", "posenet_node")
    node._perform_substitutions(context)      # what execute() does before starting the process
    context.extend_locals({"ros_specific_arguments": {"name": "__node:=posenet_node",
                                                      "ns": "__ns:=/"}})
    assert dict(node.expanded_remapping_rules) == {
        "image": "/front/image_raw", "image/compressed": "/front/image_raw/compressed",
        "camera_info": "/front/camera_info"}
    args = [perform_substitutions(context, part) for part in node.cmd[1:]]
    files = [args[i + 1] for i, a in enumerate(args) if a == "--params-file"]
    assert files[0] == str(params_file)                    # the params file, then overrides
    (overrides,) = yaml.safe_load(Path(files[1]).read_text()).values()   # keyed by node name
    overrides = overrides["ros__parameters"]
    assert overrides == {"use_sim_time": True, "image_transport": "compressed",
                         "qos_reliability": "reliable"}


def test_launch_file_structure_without_launch():
    """What can be checked where launch is absent: it parses, and says what it must."""
    tree = ast.parse(LAUNCH_FILE.read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)}
    assert {"bag", "topic", "rate", "params_file", "--clock", "use_sim_time", "play",
            "posenet_node", "image", "camera_info"} <= strings
