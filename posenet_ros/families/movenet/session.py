"""ONNX Runtime session for a converted MoveNet graph (int32 NHWC in, the graph's output out)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from posenet_ros.convert import graph_convert
from posenet_ros.runtime.session import (
    check_file, image_input, ModelError, open_session, usable_providers)


class MoveNetSession:
    """One graph, batch 1 (the graphs' reshapes pin it), on the first usable provider.

    Providers, their fallback warning and the session options are PoseNet's
    (:mod:`posenet_ros.runtime.session`), so both families fall back alike on a broken GPU stack.
    """

    def __init__(self, path: str | Path, providers: tuple[str, ...] = ("cpu",),
                 device_id: int = 0, threads: int = 0, busy_wait: bool = True,
                 provider_options: dict | None = None) -> None:
        self.path = Path(path)
        check_file(self.path)
        source: str | bytes = str(self.path)
        if self.path.suffix == ".json":       # a TF.js graph: convert in memory
            source = graph_convert.to_onnx(graph_convert.tfjs_reader.read(self.path),
                                           self.path.stem).SerializeToString()
        wanted, unusable = usable_providers(providers, device_id, provider_options)
        self.session = open_session(source, self.path, wanted, unusable, threads, busy_wait)
        self.providers = self.session.get_providers()
        image_input([(i.name, i.shape) for i in self.session.get_inputs()], self.path.name)
        self.input = self.session.get_inputs()[0]
        if self.input.type != "tensor(int32)" or len(self.input.shape) != 4:
            raise ModelError(f"{self.path.name} is not a MoveNet graph (input {self.input.type} "
                             f"{self.input.shape})")
        fixed = self.input.shape[1:3]
        self.fixed_size = tuple(fixed) if all(isinstance(d, int) for d in fixed) else None

    def run(self, model_input: np.ndarray) -> np.ndarray:
        """Return the graph's output for one int32 [1, H, W, 3] input."""
        return self.session.run(None, {self.input.name: model_input})[0]
