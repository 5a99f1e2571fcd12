"""launch/camera.launch.py and bag_replay.launch.py with the real launch/launch_ros.

launch and launch_ros are not on PyPI, so this module skips unless they are importable (a
ROS 2 install, e.g. under `colcon test`). There it checks every argument is documented,
which nodes each configuration starts (also when tf2_ros or rviz2 is not installed: skipped
with a warning, not an aborted launch), that the nodes get the Fast DDS profile, that a bag
replay ends with its bag, and then runs camera.launch.py for real and waits for PoseArrays
from the camera -> posenet pipeline.
"""
from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

try:
    from ament_index_python.packages import PackageNotFoundError
    from launch import LaunchContext
    from launch.actions import (DeclareLaunchArgument, EmitEvent, OpaqueFunction,
                                RegisterEventHandler, SetEnvironmentVariable, TimerAction)
    from launch.event_handlers import OnProcessExit
    import launch.logging
    from launch.events import Shutdown
    from launch.events.process import ProcessExited
    from launch_ros.actions import Node
except ImportError as exc:
    pytest.skip(f"launch/launch_ros not importable ({exc}): they are not on PyPI; this test "
                "runs on a ROS 2 install (Humble or later)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILE = REPO / "launch" / "camera.launch.py"
BAG_LAUNCH_FILE = REPO / "launch" / "bag_replay.launch.py"
REACTIONS_LAUNCH_FILE = REPO / "launch" / "reactions.launch.py"
ALL = [LAUNCH_FILE, BAG_LAUNCH_FILE, REACTIONS_LAUNCH_FILE]
PROFILE = "fastdds_large_frames.xml"


def load(path: Path = LAUNCH_FILE):
    """Load a launch file as `ros2 launch` does; the module."""
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def description(path: Path = LAUNCH_FILE):
    """Build a launch file's description."""
    return load(path).generate_launch_description()


def evaluate(entities, overrides: dict) -> tuple[LaunchContext, list]:
    """Run the declarations and OpaqueFunctions as LaunchService would.

    Returns the context and the actions whose conditions hold for ``overrides``.
    """
    context = LaunchContext()
    context.launch_configurations.update(overrides)
    active = []
    for action in entities:
        if isinstance(action, DeclareLaunchArgument):
            action.execute(context)
        elif isinstance(action, OpaqueFunction):
            active += evaluate_opaque(action, context)
        elif action.condition is None or action.condition.evaluate(context):
            active.append(action)
    return context, active


def evaluate_opaque(action, context) -> list:
    return [a for a in (action.execute(context) or [])
            if a.condition is None or a.condition.evaluate(context)]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_argument_is_documented(path):
    arguments = [a for a in description(path).entities if isinstance(a, DeclareLaunchArgument)]
    names = {a.name for a in arguments}
    assert "fastdds_profile" in names
    if path == LAUNCH_FILE:
        assert {"image_topic", "camera_info_topic", "params_file", "rviz", "source"} <= names
    assert all(a.description and a.description != "no description given" for a in arguments)


@pytest.mark.parametrize("overrides,expected", [
    ({}, {"camera_node", "camera_optical_tf", "posenet_node"}),
    ({"publish_tf": "false"}, {"camera_node", "posenet_node"}),
    ({"image_topic": "/cam/image_raw"}, {"posenet_node"}),
    ({"rviz": "true", "publish_tf": "false"}, {"camera_node", "posenet_node", "rviz2"}),
])
def test_which_nodes_start(monkeypatch, overrides, expected):
    """Evaluate the conditions as LaunchService would, for these argument values."""
    module = pretend_installed(monkeypatch, missing=())
    assert node_names(*evaluate(module.generate_launch_description().entities,
                                overrides)) == expected


def pretend_installed(monkeypatch, missing):
    """Load camera.launch.py with tf2_ros and rviz2 installed, except those ``missing``."""
    from posenet_ros.ros import launch_parts
    module = load()
    real = launch_parts.get_package_share_directory

    def share(package):
        if package in missing:
            raise PackageNotFoundError(package)
        return real(package) if package == "posenet_ros" else f"/opt/ros/x/share/{package}"
    monkeypatch.setattr(launch_parts, "get_package_share_directory", share)
    return module


def node_names(context, actions) -> set[str]:
    names = set()
    for node in actions:
        if isinstance(node, Node):
            node._perform_substitutions(context)   # what Node.execute does first
            names.add(node.node_name.split("/")[-1])
    return names


@pytest.mark.parametrize("missing,overrides,expected", [
    ("tf2_ros", {}, {"camera_node", "posenet_node"}),
    ("rviz2", {"rviz": "true"}, {"camera_node", "camera_optical_tf", "posenet_node"}),
])
def test_missing_optional_package_skipped(monkeypatch, missing, overrides, expected):
    """Without tf2_ros (or rviz2) the rest still starts; the log says what and why."""
    module = pretend_installed(monkeypatch, missing=(missing,))
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = launch.logging.get_logger("posenet_ros.launch")   # launch's loggers do not propagate
    logger.addHandler(handler)
    try:
        names = node_names(*evaluate(module.generate_launch_description().entities,
                                     overrides))
    finally:
        logger.removeHandler(handler)
    assert names == expected
    assert [r.levelname for r in records] == ["WARNING"]
    assert f"{missing} is not installed" in records[0].getMessage()


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_nodes_get_the_fastdds_profile(monkeypatch, path):
    """The profile that delivers camera-sized frames is set, installed, and overridable."""
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    overrides = {"bag": "/tmp/some_bag"} if path == BAG_LAUNCH_FILE else {}
    context, actions = evaluate(description(path).entities, overrides)
    setters = [a for a in actions if isinstance(a, SetEnvironmentVariable)]
    assert len(setters) == 1
    setters[0].execute(context)
    value = context.environment["FASTDDS_DEFAULT_PROFILES_FILE"]
    assert value.endswith(f"/config/{PROFILE}") and Path(value).is_file(), value
    # Off on request, and a user's own profile wins.
    context, actions = evaluate(description(path).entities, {**overrides, "fastdds_profile": ""})
    assert not [a for a in actions if isinstance(a, SetEnvironmentVariable)]
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "/etc/mine.xml")
    context, actions = evaluate(description(path).entities, overrides)
    next(a for a in actions if isinstance(a, SetEnvironmentVariable)).execute(context)
    assert context.environment["FASTDDS_DEFAULT_PROFILES_FILE"] == "/etc/mine.xml"


@pytest.mark.parametrize("overrides,expected,depth", [
    ({}, {"camera_node", "posenet_node", "reactions_node"}, False),
    ({"image_topic": "/cam/color/image_raw"}, {"posenet_node", "reactions_node"}, False),
    ({"image_topic": "/cam/color/image_raw",
      "depth_topic": "/cam/aligned_depth_to_color/image_raw"},
     {"posenet_node", "reactions_node"}, True),
])
def test_reactions_launch_starts_the_chain(overrides, expected, depth):
    """Start camera (unless a topic is given), posenet_node (+ depth when given), reactions."""
    context, actions = evaluate(description(REACTIONS_LAUNCH_FILE).entities, overrides)
    assert node_names(context, actions) == expected     # (substitutions performed)
    posenet = next(a for a in actions
                   if isinstance(a, Node) and a.node_name.endswith("posenet_node"))
    # launch_ros writes the node's dict parameters to a YAML file, as it passes them.
    values = {}
    for path, _ in posenet._Node__expanded_parameter_arguments:
        for params in yaml.safe_load(Path(path).read_text()).values():
            values.update(params.get("ros__parameters", {}))
    assert values["use_depth"] is depth and values["qos_reliability"] == "reliable"


def posenet_node_of(path: Path, overrides: dict):
    """posenet_node as ``path`` starts it: (parameters from its dicts, remappings)."""
    context, actions = evaluate(description(path).entities, overrides)
    node_names(context, actions)        # performs the substitutions
    posenet = next(a for a in actions
                   if isinstance(a, Node) and a.node_name.endswith("posenet_node"))
    values = {}     # launch_ros writes the dicts to files, as it passes them; not params_file
    for file, _ in posenet._Node__expanded_parameter_arguments:
        if Path(file).name != "posenet.yaml":
            for params in yaml.safe_load(Path(file).read_text()).values():
                values.update(params.get("ros__parameters", {}))
    return values, dict(posenet._Node__expanded_remappings or [])


@pytest.mark.parametrize("path", [LAUNCH_FILE, REACTIONS_LAUNCH_FILE], ids=lambda p: p.name)
@pytest.mark.parametrize("value,expected", [("false", False), ("True", True), ("", None)])
def test_autostart_reaches_posenet_node(path, value, expected):
    """`autostart:=false` was silently ignored; empty leaves it to params_file."""
    values, _ = posenet_node_of(path, {"autostart": value} if value else {})
    assert values.get("autostart") is expected


def test_autostart_refuses_a_non_boolean():
    with pytest.raises(ValueError, match="autostart:=maybe: expected true or false"):
        posenet_node_of(LAUNCH_FILE, {"autostart": "maybe"})


@pytest.mark.parametrize("path", [LAUNCH_FILE, REACTIONS_LAUNCH_FILE], ids=lambda p: p.name)
def test_posenet_node_reads_the_topic_camera_node_publishes(path):
    from posenet_ros.ros.camera import TOPIC
    _, remaps = posenet_node_of(path, {})
    assert remaps["image"] == f"camera/{TOPIC}"     # camera_node runs in namespace camera


def enclave_of(path: Path, overrides: dict, node_name: str, monkeypatch) -> str:
    """Return the --enclave that ``path`` puts on the command line of ``node_name``."""
    from launch.utilities import perform_substitutions
    module = pretend_installed(monkeypatch, missing=()) if path == LAUNCH_FILE else None
    entities = (module or load(path)).generate_launch_description().entities
    context, actions = evaluate(entities, overrides)
    node = next(a for a in actions
                if isinstance(a, Node) and a._Node__node_name == node_name)
    # The arguments only: the executable's path and launch_ros's own arguments are found
    # when the process starts (tf2_ros need not be installed here).
    args = [perform_substitutions(context, part) for part in node.cmd[1:-1]]
    return args[args.index("--enclave") + 1]


@pytest.mark.parametrize("path,node_name", [
    (LAUNCH_FILE, "camera_node"), (LAUNCH_FILE, "posenet_node"),
    (LAUNCH_FILE, "camera_optical_tf"), (REACTIONS_LAUNCH_FILE, "reactions_node")])
def test_enclaves_follow_the_policy(path, node_name, monkeypatch):
    """enclaves:=/posenet_ros puts each node in the enclave config/sros2_policy.xml names."""
    import xml.etree.ElementTree as ElementTree
    policy = ElementTree.parse(REPO / "config" / "sros2_policy.xml").getroot()
    enclaves = {e.get("path") for e in policy.iter("enclave")}
    assert enclave_of(path, {}, node_name, monkeypatch) == "/"     # the default, as before
    assert enclave_of(path, {"enclaves": "/posenet_ros/"}, node_name, monkeypatch) in enclaves


def test_bag_replay_ends_with_the_bag():
    """`ros2 bag play` exiting shuts the launch down (the node would spin forever)."""
    entities = description(BAG_LAUNCH_FILE).entities
    timer = next(a for a in entities if isinstance(a, TimerAction))
    play = timer.actions[0]
    node = next(a for a in entities if isinstance(a, Node))
    handlers = [a.event_handler for a in entities if isinstance(a, RegisterEventHandler)
                and isinstance(a.event_handler, OnProcessExit)]
    assert len(handlers) == 1

    def exited(action):
        return ProcessExited(action=action, name="x", cmd=["x"], cwd=None, env=None, pid=1,
                             returncode=0)
    assert not handlers[0].matches(exited(node))
    assert handlers[0].matches(exited(play))
    reaction = handlers[0].handle(exited(play), LaunchContext())
    assert any(isinstance(a, EmitEvent) and isinstance(a.event, Shutdown) for a in reaction)


RUNNER = textwrap.dedent("""
    import sys, threading, time
    from launch import LaunchDescription, LaunchService
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    service = LaunchService()
    service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
        PythonLaunchDescriptionSource(sys.argv[1]),
        launch_arguments=[a.split(":=", 1) for a in sys.argv[2:]])]))
    threading.Thread(target=lambda: (time.sleep(90), service.shutdown()), daemon=True).start()
    sys.exit(service.run())
""")


def test_launch_runs_the_pipeline(ros_context, tmp_path):
    """Defaults (tf2_ros may be missing), PoseArrays, then a terminal's Ctrl-C.

    A terminal sends SIGINT to the whole process group and launch forwards one more to each
    node: both nodes must still finish cleanly.
    """
    from dds_probe import Probe, wait_for
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(LAUNCH_FILE), "rate:=5.0"],
        stdout=open(tmp_path / "launch.log", "w"), stderr=subprocess.STDOUT, cwd=tmp_path,
        env=os.environ.copy(), start_new_session=True)
    probe = Probe("/")
    try:
        wait_for(lambda: len(probe.pose_order) >= 3, 60, probe.spin, "PoseArrays from the launch")
    finally:
        probe.close()
        os.killpg(proc.pid, signal.SIGINT)   # Ctrl-C in the terminal of `ros2 launch`
        proc.wait(60)
    log = (tmp_path / "launch.log").read_text()
    assert proc.returncode == 0, log
    assert probe.pose_order[0].header.frame_id == "camera_optical_frame"
    assert log.count("process has finished cleanly") >= 2, log
    assert "Traceback" not in log, log


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5])
def test_early_ctrl_c_is_clean(ros_context, tmp_path, delay):
    """A terminal's Ctrl-C while the nodes still import: no "process has died ... -2"."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(LAUNCH_FILE), "rate:=5.0"],
        stdout=open(tmp_path / "launch.log", "w"), stderr=subprocess.STDOUT, cwd=tmp_path,
        env=os.environ.copy(), start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30    # until launch has started both nodes
        while (tmp_path / "launch.log").read_text().count("process started with pid") < 2:
            assert time.monotonic() < deadline and proc.poll() is None, (
                (tmp_path / "launch.log").read_text())
            time.sleep(0.01)
        time.sleep(delay)   # past the interpreter's own start-up (~0.1 s), into the imports
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
    log = (tmp_path / "launch.log").read_text()
    assert proc.returncode == 0, log
    assert "process has died" not in log and "Traceback" not in log, log
