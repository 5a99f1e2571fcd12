"""The installed posenet_node as a child process, for tools that talk to it over DDS."""
from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
import time
from typing import Callable

from ament_index_python.packages import get_package_prefix, get_package_share_directory
from rclpy.qos import QoSProfile, ReliabilityPolicy

NAMESPACE = "/posenet_demo"
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def start_node(log_path: Path, extra_params: dict[str, str]) -> subprocess.Popen:
    """Start the installed posenet_node in NAMESPACE, logging to ``log_path``."""
    script = Path(get_package_prefix("posenet_ros")) / "lib" / "posenet_ros" / "posenet_node"
    params = Path(get_package_share_directory("posenet_ros")) / "config" / "posenet.yaml"
    args = [sys.executable, str(script), "--ros-args", "-r", f"__ns:={NAMESPACE}",
            "--params-file", str(params)]
    for name, value in extra_params.items():
        args += ["-p", f"{name}:={value}"]
    log = open(log_path, "w")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())


def wait_until(done: Callable[[], bool], timeout: float, node: subprocess.Popen) -> bool:
    """Wait (another thread spins) until ``done()``; False on timeout or node exit."""
    deadline = time.monotonic() + timeout
    while not done():
        if node.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
