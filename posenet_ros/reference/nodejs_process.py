"""One long-lived Node reference runner (``*_reference.js``) as a child process.

What the PoseNet and MoveNet references share: finding node and the npm modules, spawning the
script, the framing of ``common.js`` (uint32 length, JSON header, pixels; one JSON line back),
the start-up handshake, timeouts with node's stderr in the message, and shutdown.
No rclpy, no engine import.
"""
from __future__ import annotations

import collections
import json
from pathlib import Path
import queue
import shutil
import struct
import subprocess
import threading

import numpy as np

from posenet_ros.core import paths

PACKAGE_DIR = Path(__file__).resolve().parent


class ReferenceUnavailable(RuntimeError):
    """Node, the npm modules or the weights are missing: the reference cannot run here."""


class ReferenceFailed(RuntimeError):
    """The reference ran but rejected a request or died; the message carries tfjs' words."""


def install_dir(home: Path | None = None) -> Path:
    """Return where setup (the Makefile) runs ``npm ci``: ``$POSENET_ROS_HOME/reference``."""
    return Path(home or paths.home()) / "reference"


def find_modules(package: str, home: Path | None = None) -> Path | None:
    """Return the first node_modules holding ``package``: the home's, else one beside this file.

    The home's survives colcon installing this package elsewhere; the other serves a source
    checkout where ``npm ci`` ran in ``posenet_ros/reference``.
    """
    for modules in (install_dir(home) / "node_modules", PACKAGE_DIR / "node_modules"):
        if (modules / package / "package.json").is_file():
            return modules
    return None


class NodeProcess:
    """A ``*_reference.js`` script in Node, started and past its ``ready`` line.

    Subclasses call ``_start`` with their script, npm package and weight files; use as a
    context manager or call :meth:`close`.
    """

    def __init__(self, home: Path | str | None, timeout: float) -> None:
        self.home = Path(home) if home else paths.home()
        self.timeout = timeout

    def _start(self, script: Path, backend: str, node: str, package: str, missing_modules: str,
               family: str, weights: tuple[str, ...]) -> dict:
        """Spawn ``script`` with the modules holding ``package``; return its ready line.

        ``missing_modules`` is the :class:`ReferenceUnavailable` message when none hold it;
        ``weights`` are the files ``script`` reads from the home's weights folder.
        """
        node_path = shutil.which(node)
        if node_path is None:
            raise ReferenceUnavailable(
                f"`{node}` (Node.js) is not on PATH; the reference needs Node >= 18")
        modules = find_modules(package, self.home)
        if modules is None:
            raise ReferenceUnavailable(missing_modules)
        for name in weights:
            if not (self.home / "weights" / name).is_file():
                raise ReferenceUnavailable(f"{family} weights {name} missing in "
                                           f"{self.home / 'weights'}; run `make setup`")
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._proc = subprocess.Popen(
            [node_path, str(script), "--backend", backend, "--home", str(self.home),
             "--modules", str(modules)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=_pump, args=(self._proc.stdout, self._lines.put),
                         daemon=True).start()
        threading.Thread(target=_pump, args=(self._proc.stderr, self._keep_stderr),
                         daemon=True).start()
        try:
            hello = self._receive()
        except ReferenceFailed as err:
            self.close()
            raise ReferenceUnavailable(f"the reference did not start: {err}") from None
        if not hello.get("ready"):
            self.close()
            raise ReferenceUnavailable(f"the reference did not start: {hello.get('error', hello)}")
        return hello

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the Node process (EOF on stdin, then terminate if it lingers)."""
        proc = getattr(self, "_proc", None)
        if proc is None or proc.poll() is not None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.terminate()
            proc.wait(timeout=10)

    def _send(self, header: dict, pixels: np.ndarray) -> dict:
        """Send one request (``header`` already complete) and return the answer, or raise."""
        blob = json.dumps(header).encode()
        try:
            self._proc.stdin.write(struct.pack("<I", len(blob)) + blob)
            self._proc.stdin.write(np.ascontiguousarray(pixels).tobytes())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as err:
            raise ReferenceFailed(
                f"the reference process is gone ({err}){self._stderr_tail()}") from None
        answer = self._receive()
        if "error" in answer:
            raise ReferenceFailed(f"tfjs: {answer['error']}")
        return answer

    def _receive(self) -> dict:
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            self._proc.kill()
            raise ReferenceFailed(
                f"no answer within {self.timeout:.0f} s{self._stderr_tail()}") from None
        if line is None:
            self._proc.wait(timeout=10)
            raise ReferenceFailed(
                f"node exited with status {self._proc.returncode}{self._stderr_tail()}")
        return json.loads(line)

    def _keep_stderr(self, line: str | None) -> None:
        if line is not None:
            self._stderr.append(line)

    def _stderr_tail(self) -> str:
        tail = "\n".join(self._stderr)
        return f"; node stderr:\n{tail}" if tail else ""


def _pump(stream, sink) -> None:
    for raw in stream:
        sink(raw.decode("utf-8", "replace").rstrip("\n"))
    sink(None)
