"""Engine settings: one validated dataclass shared by the library, the CLI and the ROS node."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from posenet_ros.core.throttle import shorten

VALID_STRIDES = (8, 16, 32)
DECODERS = ("single", "multi")
PRECISIONS = ("fp32", "int8")
PREPROCESS = ("auto", "host", "device")
# A ``model`` with one of these suffixes is a file; any other is a name the family registry
# (posenet_ros.families) knows or refuses.
MODEL_SUFFIXES = (".onnx", ".json")
# Bounds shared with the ROS parameter ranges, so the node rejects what the engine would.
RESOLUTION_RANGE = (33, 1921)
SCALE_FACTOR_RANGE = (0.2, 1.0)
MAX_DETECTIONS_RANGE = (1, 100)
NMS_RADIUS_RANGE = (0.0, 1000.0)
# Providers when none are asked for: a GPU if this onnxruntime can run one, else the CPU
# (runtime.session says so at INFO; a list other than this one that cannot run warns).
DEFAULT_PROVIDERS = ("cuda", "cpu")


class ConfigError(ValueError):
    """A setting is out of range or inconsistent; the message names it and the valid choices."""


@dataclass(frozen=True)
class EstimatorConfig:
    """How poses are estimated. Defaults are TensorFlow.js PoseNet 2.2.2's.

    ``input_resolution`` is the network input (an int for a square, or ``(width, height)``),
    rounded to a valid size as tfjs does (``(r - 1) % output_stride == 0``). The article's
    ``image_scale_factor``, when set, replaces it: the input becomes the image size times the
    factor, so its aspect ratio follows the image's.
    """

    # A model name (families.MODEL_NAMES), an ONNX file or a TF.js model.json; None: PoseNet.
    model: str | None = None
    precision: str = "fp32"           # of a named model: fp32, or int8 (`convert --int8`)
    output_stride: int = 16
    input_resolution: int | tuple[int, int] = 257
    image_scale_factor: float | None = None
    flip_horizontal: bool = False
    decoder: str = "multi"
    max_detections: int = 5
    score_threshold: float = 0.5
    nms_radius: float = 20.0
    providers: tuple[str, ...] = DEFAULT_PROVIDERS   # tried in order; runtime.PROVIDER_NAMES
    device_id: int = 0
    threads: int = 0                  # ONNX Runtime intra-op threads; 0: one per core
    # Let ONNX Runtime's threads spin-wait for work: faster only on cores nothing else needs.
    # Off by default: on a robot the cores are shared (the node's own DDS threads, other
    # processes), and spinning threads then slow everyone, inference included (docs/speed.md).
    busy_wait: bool = False
    # Resize on the host, or on the device with the model; auto: device when a GPU provider
    # runs the model.
    preprocess: str = "auto"
    # MoveNet single pose: One Euro filter on keypoints across a stream's stamped frames, as
    # pose-detection 2.1.3 does by default (no effect on PoseNet and MultiPose).
    smoothing: bool = True
    extra: dict = field(default_factory=dict, compare=False)  # provider options, passed through

    def __post_init__(self) -> None:
        if self.model is not None:
            _check_model(self.model)
        if not isinstance(self.smoothing, bool):
            raise ConfigError(f"smoothing must be true or false, got {self.smoothing!r}")
        if self.output_stride not in VALID_STRIDES:
            raise ConfigError(
                f"output_stride {self.output_stride} is invalid: use one of {VALID_STRIDES}")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"precision {shorten(self.precision)} is invalid: use one of {PRECISIONS}")
        if self.precision != "fp32" and not is_model_name(self.model):
            raise ConfigError(f"precision {self.precision!r} picks the quantised copy of a named "
                              f"model; the file {shorten(self.model)} is run as it is: use "
                              "precision fp32, or name its int8 file as model")
        if self.preprocess not in PREPROCESS:
            raise ConfigError(
                f"preprocess {shorten(self.preprocess)} is invalid: use one of {PREPROCESS}")
        if self.decoder not in DECODERS:
            raise ConfigError(f"decoder {shorten(self.decoder)} is invalid: use one of {DECODERS}")
        for side in _as_pair(self.input_resolution):
            if not RESOLUTION_RANGE[0] <= side <= RESOLUTION_RANGE[1]:
                raise ConfigError(
                    f"input_resolution {self.input_resolution} is out of range {RESOLUTION_RANGE}")
        if self.image_scale_factor is not None and not (
                SCALE_FACTOR_RANGE[0] <= self.image_scale_factor <= SCALE_FACTOR_RANGE[1]):
            raise ConfigError(f"image_scale_factor {self.image_scale_factor} is out of range "
                              f"{SCALE_FACTOR_RANGE}")
        if not MAX_DETECTIONS_RANGE[0] <= self.max_detections <= MAX_DETECTIONS_RANGE[1]:
            raise ConfigError(
                f"max_detections {self.max_detections} is out of range {MAX_DETECTIONS_RANGE}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ConfigError(f"score_threshold {self.score_threshold} is out of range [0, 1]")
        if not NMS_RADIUS_RANGE[0] <= self.nms_radius <= NMS_RADIUS_RANGE[1]:
            raise ConfigError(f"nms_radius {self.nms_radius} is out of range {NMS_RADIUS_RANGE}")
        if self.threads < 0 or self.device_id < 0:
            raise ConfigError("threads and device_id must be >= 0")

    def replace(self, **changes) -> EstimatorConfig:
        """Return a validated copy with ``changes`` applied; unknown names raise ConfigError."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def input_size(self, image_width: int, image_height: int) -> tuple[int, int]:
        """Network input (width, height) for an image of that size, valid for the stride."""
        if self.image_scale_factor is not None:
            w, h = image_width * self.image_scale_factor, image_height * self.image_scale_factor
        else:
            w, h = _as_pair(self.input_resolution)
        return valid_resolution(w, self.output_stride), valid_resolution(h, self.output_stride)


def valid_resolution(size: float, stride: int) -> int:
    """Round ``size`` to a valid input resolution as tfjs ``toValidInputResolution`` does.

    ``size`` if ``(size - 1) % stride == 0``, else ``floor(size / stride) * stride + 1``
    (so 256 becomes 257 at stride 16, as in tfjs).
    """
    if float(size).is_integer() and (int(size) - 1) % stride == 0:
        return int(size)
    return max(int(size // stride) * stride + 1, stride + 1)


def is_model_name(model: str | None) -> bool:
    """Whether ``model`` is a name (None: the default PoseNet) rather than a file."""
    return model is None or not model.lower().endswith(MODEL_SUFFIXES)


def _check_model(model: str) -> None:
    # Only the form: which names exist is the family registry's (families.check_model).
    if not isinstance(model, str) or not model:
        raise ConfigError(f"model {shorten(model)} is invalid: use a model name or a file path")


def _as_pair(resolution: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(resolution, int):
        return resolution, resolution
    width, height = resolution
    return int(width), int(height)
