"""Drive pose-detection 2.1.3's MoveNet in Node (``movenet_reference.js``) from Python.

One long-lived ``node`` process serves every frame; single-pose detectors keep their crop
region and smoothing filters per ``stream`` across requests, as in a video, until ``reset``.
The wire protocol is documented at the top of ``movenet_reference.js``. No engine import.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from posenet_ros.reference import nodejs_process
from posenet_ros.reference.nodejs_process import (  # noqa: F401 (re-exported)
    install_dir, NodeProcess, PACKAGE_DIR, ReferenceFailed, ReferenceUnavailable)

SCRIPT = PACKAGE_DIR / "movenet_reference.js"
PACKAGE = "@tensorflow-models/pose-detection"
MODELS = ("movenet-lightning", "movenet-thunder", "movenet-multipose")


def find_modules(home: Path | None = None) -> Path | None:
    """Return the node_modules holding pose-detection: the home's, else one beside this file."""
    return nodejs_process.find_modules(PACKAGE, home)


class ReferenceMoveNet(NodeProcess):
    """pose-detection 2.1.3 MoveNet on tfjs (``wasm`` or ``cpu``) in a Node child process."""

    def __init__(self, home: Path | str | None = None, backend: str = "wasm",
                 node: str = "node", timeout: float = 300.0) -> None:
        super().__init__(home, timeout)
        hello = self._start(
            SCRIPT, backend, node, PACKAGE,
            f"pose-detection is not installed in {install_dir(self.home)}; run `make bench` "
            f"(or `make test`): it runs `npm ci` of {PACKAGE_DIR / 'package-lock.json'} there",
            "MoveNet", tuple(name + ext for name in MODELS for ext in (".json", ".bin")))
        self.versions: dict = hello.get("versions", {})
        self.backend = hello.get("backend")

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
        return self._send(header, pixels)
