"""Drive pose-detection 2.1.3's MoveNet in Node (``movenet_reference.js``) from Python.

One long-lived ``node`` process serves every frame; single-pose detectors keep their crop
region and smoothing filters per ``stream`` across requests, as in a video, until ``reset``.
The wire protocol is documented at the top of ``movenet_reference.js``. No engine import.
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
from posenet_ros.reference.runner import install_dir, ReferenceFailed, ReferenceUnavailable

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).resolve().parent / "movenet_reference.js"
MODELS = ("movenet-lightning", "movenet-thunder", "movenet-multipose")


def find_modules(home: Path | None = None) -> Path | None:
    """Return the node_modules holding pose-detection: the home's, else one beside this file."""
    for modules in (install_dir(home) / "node_modules", SCRIPT.parent / "node_modules"):
        if (modules / "@tensorflow-models" / "pose-detection" / "package.json").is_file():
            return modules
    return None


class ReferenceMoveNet:
    """pose-detection 2.1.3 MoveNet on tfjs (``wasm`` or ``cpu``) in a Node child process."""

    def __init__(self, home: Path | str | None = None, backend: str = "wasm",
                 node: str = "node", timeout: float = 300.0) -> None:
        self.home = Path(home) if home else paths.home()
        self.timeout = timeout
        node_path = shutil.which(node)
        if node_path is None:
            raise ReferenceUnavailable(f"`{node}` (Node.js) is not on PATH")
        modules = find_modules(self.home)
        if modules is None:
            raise ReferenceUnavailable(
                f"pose-detection is not installed in {install_dir(self.home)}; run `make setup`")
        for name in MODELS:
            for ext in (".json", ".bin"):
                if not (self.home / "weights" / (name + ext)).is_file():
                    raise ReferenceUnavailable(f"MoveNet weights {name}{ext} missing in "
                                               f"{self.home / 'weights'}; run `make setup`")
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._proc = subprocess.Popen(
            [node_path, str(SCRIPT), "--backend", backend, "--home", str(self.home),
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
        self.versions: dict = hello.get("versions", {})
        self.backend = hello.get("backend")

    def __enter__(self) -> ReferenceMoveNet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def estimate(self, rgb: np.ndarray, model: str, stream: str = "", smoothing: bool = True,
                 timestamp_ms: float | None = None,
                 reset: bool = False) -> tuple[list[dict], float]:
        """Poses (pose-detection dicts, pixels) for an HxWx3 uint8 frame, and tfjs' ms."""
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
        answer = self._request({"op": "estimate", "model": model, "stream": stream,
                                "smoothing": bool(smoothing), "timestamp": timestamp_ms,
                                "reset": bool(reset)}, rgb, "uint8")
        return answer["poses"], float(answer["ms"]["total"])

    def preprocess(self, rgb: np.ndarray, model: str,
                   box: tuple[float, float, float, float] | None = None) -> np.ndarray:
        """Return the int32 network input pose-detection makes (``box``: y/x min/max, single)."""
        header = {"op": "preprocess", "model": model}
        if box is not None:
            header["box"] = [float(v) for v in box]
        answer = self._request(header, np.ascontiguousarray(rgb, np.uint8), "uint8")
        return np.array(answer["input"], np.int32).reshape(answer["shape"])

    def execute(self, model_input: np.ndarray, model: str) -> np.ndarray:
        """Return the graph's own output (float32) for an int32 [1, H, W, 3] input."""
        x = np.asarray(model_input)
        if x.ndim != 4 or x.shape[0] != 1 or x.shape[3] != 3:
            raise ValueError(f"expected an int32 [1, H, W, 3] input, got {x.shape}")
        answer = self._request({"op": "execute", "model": model}, x[0].astype("<i4"), "int32")
        return np.array(answer["output"], np.float32).reshape(answer["shape"])

    def _request(self, header: dict, pixels: np.ndarray, dtype: str) -> dict:
        if header["model"] not in MODELS:
            raise ValueError(f"model {header['model']!r} is not one of {MODELS}")
        header.update(height=int(pixels.shape[0]), width=int(pixels.shape[1]), dtype=dtype)
        blob = json.dumps(header).encode()
        try:
            self._proc.stdin.write(struct.pack("<I", len(blob)) + blob)
            self._proc.stdin.write(np.ascontiguousarray(pixels).tobytes())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as err:
            raise ReferenceFailed(f"the reference process is gone ({err})"
                                  f"{self._stderr_tail()}") from None
        answer = self._receive()
        if "error" in answer:
            raise ReferenceFailed(f"tfjs: {answer['error']}")
        return answer

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
            raise ReferenceFailed(f"no answer within {self.timeout:.0f} s"
                                  f"{self._stderr_tail()}") from None
        if line is None:
            self._proc.wait(timeout=10)
            raise ReferenceFailed(f"node exited with status {self._proc.returncode}"
                                  f"{self._stderr_tail()}")
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
