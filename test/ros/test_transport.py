"""Camera-sized frames across processes reach posenet_node with the shipped Fast DDS profile.

With Fast DDS's defaults a best-effort sample over ~512 KB is mostly lost between processes
(a 640x480 bgr8 frame is 921,600 bytes: 4-14 % arrived here). What decides it is the
publishing process's shared-memory segment, so the camera process (tools/soak.py's
publisher: real vtest frames, best effort, as a camera driver with sensor-data QoS) runs
with config/fastdds_large_frames.xml, and the installed node, with its default best-effort
subscription, must count at least 90 % of the frames as received (its ``frames_received``
diagnostic: what reached the callback, whether or not it was then processed). The camera
starts publishing once discovery has matched it with the node: frames sent before that are
lost to discovery, not transport (matching took up to 0.9 s here; before this wait, 22-25 of
91 frames went missing in 1 run of 3). Without the profile the same run is printed for
comparison, not asserted: it depends on Fast DDS's defaults and the kernel.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from dds_probe import Probe, wait_for
import pytest

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "config" / "fastdds_large_frames.xml"
PUBLISHER = REPO / "tools" / "soak.py"


def publish(probe: Probe, size: str, rate: float, seconds: float, profile: bool) -> int:
    """Run a camera process for ``seconds`` (the probe spins); the frames it published."""
    env = os.environ.copy()
    env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
    if profile:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
    proc = subprocess.Popen(
        [sys.executable, str(PUBLISHER), "--role", "publisher", "--size", size, "--rate",
         str(rate), "--qos", "best_effort", "--namespace", probe.namespace],
        env=env, stdout=subprocess.PIPE, text=True)
    ready = json.loads(proc.stdout.readline())
    assert ready.get("ready") and ready.get("matched"), ready   # counted once discovered
    print(f"camera ({'with' if profile else 'without'} profile) matched the node after "
          f"{ready['discovery_s']} s")
    probe.camera_started = time.time()   # wall clock, as the node's diagnostics stamps
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probe.spin()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return json.loads(out.strip().splitlines()[-1])["sent"]


def frames_received(probe: Probe, settle: float = 2.5) -> int:
    """Read the node's frames_received total after ``settle`` s of diagnostics.

    Totals only grow, so the largest seen is the latest, whatever order they came in.
    """
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        probe.spin()
    name = f"{probe.namespace}/posenet_node:"
    return max([int(kv.value) for array in probe.diagnostics for status in array.status
                if status.name.startswith(name) for kv in status.values
                if kv.key == "frames_received"] or [0])


@pytest.mark.parametrize("size,rate", [("640x480", 15.0), ("1920x1080", 5.0)])
def test_best_effort_camera_frames_arrive(start_node, size, rate):
    ns = f"/transport_{size}"
    node = start_node(ns, providers=["cpu"])
    probe = Probe(ns)
    try:
        wait_for(lambda: probe.node.count_publishers(f"{ns}/poses") > 0, 90, probe.spin,
                 "the node to start")
        counts = {}
        for profile in (False, True):
            before = frames_received(probe)
            sent = publish(probe, size, rate, 6.0, profile)
            counts[profile] = (frames_received(probe) - before, sent)
    finally:
        probe.close()
    got, sent = counts[True]
    without = counts[False]
    print(f"{size} best effort at {rate} Hz: {without[0]}/{without[1]} frames arrived with "
          f"Fast DDS defaults, {got}/{sent} with {PROFILE.name}")
    assert got >= 0.9 * sent, (f"only {got} of {sent} {size} frames reached the node with "
                               f"{PROFILE.name}:\n{node.log()}")


def test_frames_lost_with_fast_dds_defaults_are_reported_with_the_fix(start_node):
    """Report frames lost before the callback within 5 s of the camera's start, with the fix.

    Without the profile most 640x480 best-effort frames vanish in transport: the node must
    say so in its log (once) and on /diagnostics (WARN).
    """
    ns = "/transport_lost"
    node = start_node(ns, providers=["cpu"])
    probe = Probe(ns)
    try:
        wait_for(lambda: probe.node.count_publishers(f"{ns}/poses") > 0, 90, probe.spin,
                 "the node to start")
        sent = publish(probe, "640x480", 30.0, 8.0, profile=False)
        received = frames_received(probe)
        warned = [(status.message, array.header.stamp) for array in probe.diagnostics
                  for status in array.status if status.name.startswith(f"{ns}/posenet_node:")
                  and "lost in transport" in status.message]
    finally:
        probe.close()
    log = node.log()
    if received >= 0.9 * sent:
        pytest.skip(f"{received}/{sent} frames arrived with Fast DDS defaults on this machine: "
                    "nothing was lost, so there is nothing to report")
    statuses = [(array.header.stamp.sec - probe.camera_started, status.message)
                for array in probe.diagnostics for status in array.status
                if status.name.startswith(f"{ns}/posenet_node:")]
    assert "being lost in transport" in log and "qos_reliability:=reliable" in log, (
        f"{received}/{sent} arrived\n{log}\n" + "\n".join(f"{t:.1f} {m}" for t, m in statuses))
    lines = [line.split("]: ", 1)[-1] for line in log.splitlines() if "[WARN]" in line]
    assert len(lines) == len(set(lines)), log    # each cause once, not per check
    assert warned, "no WARN status naming the loss on /diagnostics"
    first = min(stamp.sec + stamp.nanosec * 1e-9 for _, stamp in warned)
    took = first - probe.camera_started
    print(f"{received}/{sent} frames arrived; warned {took:.1f} s after the camera started\n"
          + "\n".join(f"{t:.1f} {m[:90]}" for t, m in statuses))
    # Measured 0.4-3.1 s (0.4 s in 7 of 10 runs): Fast DDS reports the lost samples
    # (message-lost event) as they go; from stamps alone it took 3.3-6.4 s, as the first
    # frames got through 2-5 s late.
    assert took <= 5.0, took
