"""Drive TF.js PoseNet 2.2.2 in Node (``posenet_reference.js``) from Python.

The reference is what posenet_ros is measured against: parity tests compare poses with it, the
benchmark compares speed with it. One long-lived ``node`` process serves every frame, so model
loading and wasm start-up are paid once per resolution, not per frame. No rclpy, no engine import.
The wire protocol is documented at the top of ``posenet_reference.js``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from posenet_ros.reference import nodejs_process
from posenet_ros.reference.nodejs_process import (  # noqa: F401 (re-exported)
    install_dir, NodeProcess, PACKAGE_DIR, ReferenceFailed, ReferenceUnavailable)

log = logging.getLogger(__name__)

SCRIPT = PACKAGE_DIR / "posenet_reference.js"
PACKAGE = "@tensorflow-models/posenet"
BACKENDS = ("wasm", "cpu")
MODES = ("single", "multi")
# Python keyword -> tfjs config key, for estimate()'s per-request options.
_OPTIONS = {"flip_horizontal": "flipHorizontal", "max_detections": "maxDetections",
            "score_threshold": "scoreThreshold", "nms_radius": "nmsRadius"}


def find_modules(home: Path | None = None) -> Path | None:
    """Return the node_modules holding TF.js PoseNet: the home's, else one beside this file."""
    return nodejs_process.find_modules(PACKAGE, home)


class ReferencePoseNet(NodeProcess):
    """TF.js PoseNet 2.2.2 (MobileNetV1 0.75, stride 16) running in a Node child process.

    Use as a context manager or call :meth:`close`. ``backend`` is ``"wasm"`` (fast, default)
    or ``"cpu"`` (tfjs' plain JavaScript kernels). Raises :class:`ReferenceUnavailable` when it
    cannot start, with the reason.
    """

    def __init__(self, home: Path | str | None = None, backend: str = "wasm",
                 node: str = "node", timeout: float = 300.0) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} is invalid: use one of {BACKENDS}")
        super().__init__(home, timeout)
        self.backend = backend
        hello = self._start(
            SCRIPT, backend, node, PACKAGE,
            f"the TF.js PoseNet modules are not installed in {install_dir(self.home)} "
            f"nor in {PACKAGE_DIR}; run `make bench` (or `make test`): it runs `npm ci` of "
            f"{PACKAGE_DIR / 'package-lock.json'} there",
            "PoseNet", ("posenet.json", "posenet.bin"))
        self.versions: dict = hello.get("versions", {})
        log.info("TF.js PoseNet reference ready: backend %s, %s",
                 hello.get("backend"), self.versions)

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
        answer = self._send(header, rgb)
        return answer["poses"], float(answer["ms"]["total"])
