"""``posenet-ros fleet --ray-address`` against a real Ray cluster started beside it.

``ray start --head`` on the loopback with 2 CPUs (a free port), in its own process group and
blocking, so the test ends exactly the processes it started; the fleet joins it by address,
with the cluster's authentication token (Ray's token auth, on by default), as a user would.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import secrets
import signal
import socket
import subprocess
import sys
import time

from bag_fixtures import require_model, run_cli, sample_video
import pytest

pytest.importorskip("ray", reason="the fleet extra is not installed "
                                  "(pip install --require-hashes -r requirements/fleet.txt)")

pytestmark = pytest.mark.timeout(300)
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def ray_cluster(monkeypatch):
    port = _free_port()
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
         "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false",
         "--disable-usage-stats"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(port):
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start --head did not come up: {head.communicate()[0][-2000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)    # --block: stops every process it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=10)


def test_fleet_joins_a_cluster_by_address(ray_cluster, tmp_path):
    require_model()
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    for robot, compressed in (("robot1", False), ("robot2", True)):
        write_video_bag(VideoBagJob(sample_video(), tmp_path / "in" / robot,
                                    topic=f"/{robot}/camera/image_raw",
                                    compressed=compressed, max_frames=10))
    out = tmp_path / "out"
    start = time.monotonic()
    result = run_cli("fleet", tmp_path / "in", "-o", out, "--ray-address", ray_cluster)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 180
    summary = json.loads((out / "fleet_summary.json").read_text())
    assert summary["ray"]["address"] == ray_cluster
    assert summary["done"] == 2 and summary["frames"] == 20
    assert len(summary["ray"]["workers"]) == 2      # the cluster's 2 CPUs
    assert set(summary["robots"]) == {"robot1", "robot2"}


def test_an_address_where_no_cluster_listens_fails_fast_by_name(tmp_path):
    require_model()
    from posenet_ros.bag.from_video import VideoBagJob, write_video_bag
    write_video_bag(VideoBagJob(sample_video(), tmp_path / "in", max_frames=2))
    address = f"127.0.0.1:{_free_port()}"
    start = time.monotonic()
    result = run_cli("fleet", tmp_path / "in", "-o", tmp_path / "out", "--ray-address", address)
    assert result.returncode == 2, result.stderr
    assert f"no Ray cluster answers at {address}" in result.stderr
    assert time.monotonic() - start < 60
    assert not list((tmp_path / "out" / "bags").iterdir())
