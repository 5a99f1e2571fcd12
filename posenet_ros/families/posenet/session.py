"""PoseNet's ONNX Runtime session: its four named outputs, channel-first, through IO binding.

Outputs are written into buffers reused across frames of the same size. With
``device_preprocess`` the session runs the model with tfjs preprocessing in front
(:mod:`posenet_ros.families.posenet.fused`) and takes raw uint8 frames: on a GPU the resize
then happens on the device and only camera bytes cross the bus.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from posenet_ros.convert import io_names
from posenet_ros.families.posenet.fused import letterbox_tensors, with_uint8_input
from posenet_ros.families.posenet.preprocess import Letterbox
from posenet_ros.runtime.session import (
    check_file, GPU_PROVIDERS, image_input, ModelError, open_session, usable_providers)


class PoseNetModel:
    """A loaded model: ``run(batch)`` -> dict of the four outputs, channel-first."""

    def __init__(self, path: str | Path, providers: tuple[str, ...] = ("cuda", "cpu"),
                 device_id: int = 0, threads: int = 0, output_stride: int | None = None,
                 provider_options: dict | None = None, device_preprocess: bool | None = False,
                 busy_wait: bool = True):
        """Load ``path`` on the first usable provider.

        ``device_preprocess``: True puts tfjs preprocessing into the model (uint8 frames in);
        None decides by provider, True when a GPU provider will run the model. ``busy_wait``:
        threads spin for work instead of sleeping (see ``EstimatorConfig.busy_wait``).
        """
        self.path = Path(path)
        wanted, unusable = usable_providers(providers, device_id, provider_options)
        if device_preprocess is None:
            device_preprocess = wanted[0][0] in GPU_PROVIDERS
        check_file(self.path)
        source: str | bytes = str(self.path)
        if self.path.suffix == ".json":       # a TF.js graph model: convert in memory
            from posenet_ros.convert.models import to_onnx
            from posenet_ros.convert.tfjs_graph import load
            source = to_onnx(load(self.path), output_stride or 16,
                             source=self.path.name).SerializeToString()
        if device_preprocess:
            proto = _onnx_proto(source, self.path)
            image_input(_proto_inputs(proto), self.path.name)
            try:
                source = with_uint8_input(proto).SerializeToString()
            except ValueError as exc:
                raise ModelError(
                    f"{self.path.name}: cannot preprocess on the device: {exc}") from exc
        self.device_preprocess = device_preprocess
        self.session = open_session(source, self.path, wanted, unusable, threads, busy_wait)
        self.providers = self.session.get_providers()
        if not device_preprocess:
            image_input([(i.name, i.shape) for i in self.session.get_inputs()], self.path.name)
        self._input = self.session.get_inputs()[0]
        self._channels_last = not device_preprocess and self._input.shape[-1] == 3   # a NHWC graph
        self._outputs = self._match_outputs()
        meta = self.session.get_modelmeta().custom_metadata_map
        self.output_stride = int(meta.get("output_stride", output_stride or 16))
        self._apply_sigmoid = meta.get("architecture") is None   # foreign graphs emit raw logits
        self._binding = self.session.io_binding()
        self._outputs_by_shape: dict[tuple[int, ...], dict[str, np.ndarray]] = {}

    @property
    def name(self) -> str:
        return self.path.name

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """``batch``: float32 [N, 3, H, W] in [-1, 1].

        Returns arrays [N, C, h, w] by output name.
        """
        feed = batch.transpose(0, 2, 3, 1) if self._channels_last else batch
        n, _, h, w = batch.shape
        return self._run({self._input.name: np.ascontiguousarray(feed)}, n, h, w)

    def run_frames(self, frames: np.ndarray, box: Letterbox) -> dict[str, np.ndarray]:
        """``frames``: uint8 [N, H, W, 3] RGB, all laid out as ``box`` (device_preprocess only)."""
        feeds = {"frames": np.ascontiguousarray(frames), **letterbox_tensors(box, frames.shape[0])}
        return self._run(feeds, frames.shape[0], box.input_height, box.input_width)

    def _run(self, feeds: dict[str, np.ndarray], n: int, h: int, w: int) -> dict[str, np.ndarray]:
        """Run with IO binding into output buffers reused for every frame of this size.

        The arrays returned are overwritten by the next call of the same size: decode them first.
        """
        grid = ((h - 1) // self.output_stride + 1, (w - 1) // self.output_stride + 1)
        outputs = self._outputs_by_shape.get((n, h, w))
        if outputs is None:
            if len(self._outputs_by_shape) > 8:      # many sizes (mixed cameras): start over
                self._outputs_by_shape.clear()
            outputs = {
                ours: np.empty(
                    _output_shape(n, grid, io_names.CHANNELS[ours], self._channels_last),
                    np.float32)
                for ours in self._outputs}
            self._outputs_by_shape[(n, h, w)] = outputs
        binding = self._binding
        binding.clear_binding_inputs()
        binding.clear_binding_outputs()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        for ours, theirs in self._outputs.items():
            buf = outputs[ours]
            binding.bind_output(theirs, "cpu", 0, np.float32, list(buf.shape), buf.ctypes.data)
        self.session.run_with_iobinding(binding)
        out = {k: (v.transpose(0, 3, 1, 2) if self._channels_last else v)
               for k, v in outputs.items()}
        if self._apply_sigmoid:
            out[io_names.HEATMAP] = 1.0 / (1.0 + np.exp(-out[io_names.HEATMAP]))
        return out

    def _match_outputs(self) -> dict[str, str]:
        """Our output name -> the model's, by exact name or by the TF.js head names.

        Each must be of rank 4 (batch, grid, channels) where the model declares a shape.
        """
        ranks = {o.name: len(o.shape or ()) for o in self.session.get_outputs()}
        theirs = list(ranks)
        found = {}
        for ours in io_names.OUTPUTS:
            head = next(h for h, o in io_names.HEAD_OUTPUTS.items() if o == ours)
            match = ([n for n in theirs if n == ours]
                     or [n for n in theirs if head.removesuffix("_2") in n])
            if not match:
                raise ModelError(f"{self.path.name}: no output for {ours} (outputs: "
                                 f"{', '.join(repr(t)[:60] for t in theirs[:8])})")
            if ranks[match[0]] not in (0, 4):
                raise ModelError(f"{self.path.name}: output {match[0]!r} has rank "
                                 f"{ranks[match[0]]}; PoseNet's {ours} has rank 4 "
                                 "(batch, height, width, channels)")
            found[ours] = match[0]
        return found


def _onnx_proto(source: str | bytes, path: Path):
    import onnx
    from google.protobuf.message import DecodeError
    try:
        return onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(source)
    except (OSError, DecodeError, ValueError) as exc:
        raise ModelError(f"{path.name} is not an ONNX model ({exc})") from None


def _proto_inputs(proto) -> list[tuple[str, list]]:
    """(name, shape) of the graph's inputs that are not initialisers."""
    weights = {i.name for i in proto.graph.initializer}
    return [(i.name, [d.dim_value if d.HasField("dim_value") else d.dim_param
                      for d in i.type.tensor_type.shape.dim])
            for i in proto.graph.input if i.name not in weights]


def _output_shape(n: int, grid: tuple[int, int], channels: int,
                  channels_last: bool) -> tuple[int, ...]:
    return (n, *grid, channels) if channels_last else (n, channels, *grid)
