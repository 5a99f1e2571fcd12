"""Drive TF.js PoseNet 2.2.2 in Node (``posenet_reference.js``) from Python.

The reference is what posenet_ros is measured against: parity tests compare poses with it, the
benchmark compares speed with it. One long-lived ``node`` process serves every frame, so model
loading and wasm start-up are paid once per resolution, not per frame. No rclpy, no engine import.
The wire protocol is documented at the top of ``posenet_reference.js``.
"""
from __future__ import annotations

import collections
import json
import logging
from pathlib import Path
import queue
import shutil
import struct
import subprocess
import threading

import numpy as np

from posenet_ros import paths

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
SCRIPT = PACKAGE_DIR / "posenet_reference.js"
BACKENDS = ("wasm", "cpu")
MODES = ("single", "multi")
# Python keyword -> tfjs config key, for estimate()'s per-request options.
_OPTIONS = {"flip_horizontal": "flipHorizontal", "max_detections": "maxDetections",
            "score_threshold": "scoreThreshold", "nms_radius": "nmsRadius"}


class ReferenceUnavailable(RuntimeError):
    """Node, the npm modules or the weights are missing: the reference cannot run here."""


class ReferenceFailed(RuntimeError):
    """The reference ran but rejected a request or died; the message carries tfjs' words."""


def install_dir(home: Path | None = None) -> Path:
    """Return where setup (the Makefile) runs ``npm ci``: ``$POSENET_ROS_HOME/reference``."""
    return Path(home or paths.home()) / "reference"


def find_modules(home: Path | None = None) -> Path | None:
    """Return the first node_modules holding TF.js PoseNet: the home's, else one beside this file.

    The home's survives colcon installing this package elsewhere; the other serves a source
    checkout where ``npm ci`` ran in ``posenet_ros/reference``.
    """
    for modules in (install_dir(home) / "node_modules", PACKAGE_DIR / "node_modules"):
        if (modules / "@tensorflow-models" / "posenet" / "package.json").is_file():
            return modules
    return None


class ReferencePoseNet:
    """TF.js PoseNet 2.2.2 (MobileNetV1 0.75, stride 16) running in a Node child process.

    Use as a context manager or call :meth:`close`. ``backend`` is ``"wasm"`` (fast, default)
    or ``"cpu"`` (tfjs' plain JavaScript kernels). Raises :class:`ReferenceUnavailable` when it
    cannot start, with the reason.
    """

    def __init__(self, home: Path | str | None = None, backend: str = "wasm",
                 node: str = "node", timeout: float = 300.0) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} is invalid: use one of {BACKENDS}")
        self.home = Path(home) if home else paths.home()
        self.backend = backend
        self.timeout = timeout
        node_path = shutil.which(node)
        if node_path is None:
            raise ReferenceUnavailable(
                f"`{node}` (Node.js) is not on PATH; the reference needs Node >= 18")
        modules = find_modules(self.home)
        if modules is None:
            raise ReferenceUnavailable(
                f"the TF.js PoseNet modules are not installed in {install_dir(self.home)} "
                f"nor in {PACKAGE_DIR}; run `make setup`: it runs `npm ci` of "
                f"{PACKAGE_DIR / 'package-lock.json'} there")
        for name in ("posenet.json", "posenet.bin"):
            if not (self.home / "weights" / name).is_file():
                raise ReferenceUnavailable(
                    f"PoseNet weights {name} missing in {self.home / 'weights'}; run `make setup`")
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._proc = subprocess.Popen(
            [node_path, str(SCRIPT), "--backend", backend, "--home", str(self.home),
             "--modules", str(modules)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._pump, args=(self._proc.stdout, self._lines.put),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self._proc.stderr, self._keep_stderr),
                         daemon=True).start()
        try:
            hello = self._receive()
        except ReferenceFailed as err:
            self.close()
            raise ReferenceUnavailable(f"the reference did not start: {err}") from None
        if not hello.get("ready"):
            self.close()
            raise ReferenceUnavailable(f"the reference did not start: {hello.get('error', hello)}")
        self.versions: dict = hello.get("versions", {})
        log.info("TF.js PoseNet reference ready: backend %s, %s",
                 hello.get("backend"), self.versions)

    def __enter__(self) -> ReferencePoseNet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def estimate(self, rgb: np.ndarray, mode: str = "multi",
                 input_resolution: int | tuple[int, int] = 257,
                 **options) -> tuple[list[dict], float]:
        """Poses (tfjs dicts) for an HxWx3 RGB image, and milliseconds spent in tfjs' estimator.

        ``rgb`` is uint8, or float (sent as float32, values 0..255) for already-resized input.
        ``input_resolution`` is an int or ``(width, height)``; ``options`` are flip_horizontal,
        max_detections, score_threshold, nms_radius (tfjs' defaults when omitted). Single mode
        returns a one-element list.
        """
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise TypeError(f"unknown option(s) {sorted(unknown)}; valid: {sorted(_OPTIONS)}")
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is invalid: use one of {MODES}")
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
            raise ValueError(f"expected an HxWx3 RGB image, got shape {rgb.shape}")
        if rgb.dtype == np.uint8:
            dtype = "uint8"
        elif np.issubdtype(rgb.dtype, np.floating):
            rgb, dtype = rgb.astype("<f4"), "float32"
        else:
            raise ValueError(f"expected uint8 or float pixels, got {rgb.dtype}")
        if isinstance(input_resolution, (tuple, list)):
            width, height = input_resolution
            resolution: int | dict = {"width": int(width), "height": int(height)}
        else:
            resolution = int(input_resolution)
        header = {"height": int(rgb.shape[0]), "width": int(rgb.shape[1]), "dtype": dtype,
                  "mode": mode, "inputResolution": resolution}
        header.update({_OPTIONS[k]: v for k, v in options.items() if v is not None})
        blob = json.dumps(header).encode()
        try:
            self._proc.stdin.write(struct.pack("<I", len(blob)) + blob)
            self._proc.stdin.write(np.ascontiguousarray(rgb).tobytes())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as err:
            raise ReferenceFailed(
                f"the reference process is gone ({err}){self._stderr_tail()}") from None
        answer = self._receive()
        if "error" in answer:
            raise ReferenceFailed(f"tfjs: {answer['error']}")
        return answer["poses"], float(answer["ms"]["total"])

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

    @staticmethod
    def _pump(stream, sink) -> None:
        for raw in stream:
            sink(raw.decode("utf-8", "replace").rstrip("\n"))
        sink(None)
