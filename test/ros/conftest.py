"""Fixtures for tests over real DDS.

The installed posenet_node runs in its own process; a probe node in the test process
(dds_probe.py) publishes frames and collects what comes back.

The session's DDS domain is test/dds_domain.py's (set by the root conftest); each node
fixture uses its own namespace.
"""
from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

import pytest


REPO = Path(__file__).resolve().parents[2]
PARAMS_FILE = REPO / "config" / "posenet.yaml"


def _why_no_ros() -> str | None:
    try:
        import rclpy  # noqa: F401
    except ImportError as exc:
        return f"rclpy is not importable ({exc}): run the tests through `make test`"
    try:
        from posenet_ros.msg import PoseArray  # noqa: F401
    except ImportError as exc:
        return (f"posenet_ros messages are not built/sourced ({exc}): run `make build` and "
                "source install/setup.bash (or use `make test`)")
    from posenet_ros.core import paths
    if not paths.default_model(16).is_file():
        return f"no converted model at {paths.default_model(16)}: run `make setup`"
    return None


def installed_node_script(name: str) -> Path:
    """Locate lib/posenet_ros/<name> in the colcon install found on AMENT_PREFIX_PATH."""
    from ament_index_python.packages import get_package_prefix
    return Path(get_package_prefix("posenet_ros")) / "lib" / "posenet_ros" / name


class NodeProcess:
    """An installed node run as `ros2 run` would, in its own process, logging to a file."""

    def __init__(self, script: str, namespace: str, log_path: Path, params: dict | None = None,
                 params_file: Path | None = PARAMS_FILE, remaps: dict | None = None):
        args = [sys.executable, str(installed_node_script(script)), "--ros-args",
                "-r", f"__ns:={namespace}"]
        for old, new in (remaps or {}).items():
            args += ["-r", f"{old}:={new}"]
        if params_file is not None:
            args += ["--params-file", str(params_file)]
        for name, value in (params or {}).items():
            args += ["-p", f"{name}:={_yaml(value)}"]
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "w")
        # cwd outside the repo: the source tree's posenet_ros (no generated msg) must not
        # shadow the installed package on sys.path.
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=log_path.parent, env=os.environ.copy())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> int:
        """Send ``sig`` and return the exit code; kill (and fail loudly) on a hang."""
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"{self.args[1]} ignored signal {sig} for {timeout} s:\n{self.log()}")
        self._log.close()
        return self.proc.returncode


def _yaml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_yaml(v) for v in value) + "]"
    return str(value)


@pytest.fixture(scope="session")
def ros_context():
    """Initialise rclpy in the test process (skip when ROS is not set up)."""
    reason = _why_no_ros()
    if reason:
        pytest.skip(reason)
    import rclpy
    rclpy.init()
    yield
    rclpy.try_shutdown()


@pytest.fixture(scope="module")
def start_node(ros_context, tmp_path_factory):
    """Provide a factory of NodeProcess, ``start(namespace, **params)``; stop them after."""
    started: list[NodeProcess] = []

    def start(namespace: str, script: str = "posenet_node", remaps: dict | None = None,
              **params) -> NodeProcess:
        log_dir = tmp_path_factory.mktemp(namespace.strip("/").replace("/", "_") or "root")
        params_file = PARAMS_FILE if script == "posenet_node" else None
        node = NodeProcess(script, namespace, log_dir / f"{script}.log", params, params_file,
                           remaps)
        started.append(node)
        return node

    yield start
    for node in started:
        if node.alive():
            node.stop(timeout=15.0)
