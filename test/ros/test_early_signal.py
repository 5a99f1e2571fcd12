"""A Ctrl-C in the first second of ``ros2 launch`` stops the installed nodes quietly (exit 0).

A terminal's Ctrl-C under ``ros2 launch`` reaches each node twice (the process group's SIGINT
and the one launch forwards). Sent while the node still imports rclpy and ONNX Runtime, it
used to end the process with ``exit code -2`` (launch: "process has died"). Delays start after
the interpreter's own start-up (before the executable's first line nothing of ours runs);
that time is measured here, so a loaded machine shifts the delays instead of failing them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import installed_node_script
import pytest

DELAYS = (0.05, 0.3, 0.8, 1.5)   # seconds after the interpreter's start-up


@pytest.fixture(scope="module")
def startup_time(ros_context) -> float:
    """Seconds a bare interpreter of the same environment takes to start (the worst of 3)."""
    times = []
    for _ in range(3):
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        times.append(time.monotonic() - start)
    return max(times)


def interrupt_at(script: str, delay: float, signals: int, tmp_path) -> tuple[int, str]:
    """Start ``script`` as ``ros2 run`` would, send ``signals`` SIGINTs after ``delay`` s."""
    log = tmp_path / f"{script}_{delay}_{signals}.log"
    with open(log, "w") as out:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, str(installed_node_script(script)), "--ros-args",
             "-r", "__ns:=/early_signal", "-p", "providers:=[cpu]"] if script == "posenet_node"
            else [sys.executable, str(installed_node_script(script)), "--ros-args",
                  "-r", "__ns:=/early_signal"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=os.environ.copy(),
            # A non-interactive shell's background job inherits SIGINT ignored; a terminal's
            # does not: start with the default disposition, as under a terminal.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(max(0.0, delay - (time.monotonic() - start)))
        for _ in range(signals):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.002)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{script} ignored SIGINT sent after {delay:.2f} s")
    return code, log.read_text()


@pytest.mark.parametrize("script,signals", [
    ("posenet_node", 1), ("posenet_node", 2), ("camera_node", 2)],
    ids=["posenet_node-one_sigint", "posenet_node-terminal_ctrl_c", "camera_node-terminal_ctrl_c"])
def test_sigint_during_start_up_exits_zero_quietly(script, signals, startup_time, tmp_path):
    failures = []
    for delay in DELAYS:
        code, log = interrupt_at(script, startup_time + delay, signals, tmp_path)
        if code != 0 or "Traceback" in log or "KeyboardInterrupt" in log:
            failures.append(f"+{delay:.2f} s: exit code {code}\n{log[-1500:]}")
    assert not failures, (f"interpreter start-up {startup_time:.2f} s; then\n"
                          + "\n".join(failures))


def test_an_interrupt_during_an_import_waits_for_the_import_to_finish(tmp_path):
    """The start-up interrupt is not raised inside an import (onnx's aborted the process).

    A module that receives SIGINT while it is being imported (as onnx was, imported during
    the model load) must finish importing; the KeyboardInterrupt comes right after it.
    """
    (tmp_path / "slow_import.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "end = time.monotonic() + 0.3\n"
        "while time.monotonic() < end:\n"
        "    pass\n"
        "finished = True\n")
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from posenet_ros.ros.run import _Interrupts\n"
        "_Interrupts()\n"
        "try:\n"
        "    import slow_import\n"
        "    time.sleep(2.0)\n"
        "    print('not interrupted')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted, imported:', getattr(sys.modules.get('slow_import'), "
        "'finished', False))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "interrupted, imported: True", out.stdout + out.stderr
