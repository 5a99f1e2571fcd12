"""The pose node's parameters: declared once, from one table, with descriptions and ranges.

Engine, tracking and depth parameters map onto the fields of
:class:`~posenet_ros.core.config.EstimatorConfig`,
:class:`~posenet_ros.stages.track.config.TrackerConfig` and
:class:`~posenet_ros.stages.depth.lift.DepthConfig`, whose own checks are the one validator.
The full set of values becomes one immutable :class:`NodeSettings` (:func:`settings`): a
parameter change builds a new one, or is refused with its reason and the old one kept. Topic
and QoS parameters are read-only (they fix subscriptions made at start-up). Defaults equal
the engine's (TF.js PoseNet 2.2.2) and ``config/posenet.yaml``.

A string-array parameter with an empty default (``image_topics``) is declared by type: rclpy
infers ``[]`` as a byte array, which would refuse a string-array override on Humble.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from posenet_ros.camera.transforms import MAX_FRAME_NAME
from posenet_ros.core.config import (
    ConfigError, DECODERS, EstimatorConfig, MAX_DETECTIONS_RANGE, NMS_RADIUS_RANGE, PRECISIONS,
    PREPROCESS, RESOLUTION_RANGE, SCALE_FACTOR_RANGE, VALID_STRIDES)
from posenet_ros.core.throttle import shorten
from posenet_ros.families import check_model, DEFAULT_MODEL, MODEL_NAMES
from posenet_ros.imaging.ros_image import DEFAULT_MAX_PIXELS
from posenet_ros.outputs.marker_geometry import MarkerSettings
from posenet_ros.stages.depth.lift import DepthConfig
from posenet_ros.stages.pipeline import PipelineSettings
from posenet_ros.stages.track.config import (
    BETA_RANGE, CUTOFF_RANGE, DUPLICATE_OKS_RANGE, MAX_AGE_RANGE, MIN_HITS_RANGE,
    MODEL_OWN, POSE_SCORE_RANGE, REID_MAX_AGE_RANGE, TrackerConfig, TrackerError)
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException, ParameterUninitializedException
from rclpy.parameter import Parameter

IMAGE_TRANSPORTS = ("raw", "compressed")
TRANSFORM_TIMEOUT_S = 0.05      # a frame's wait for its target_frame transform
RELIABILITIES = ("best_effort", "reliable")


@dataclass(frozen=True)
class OutputSettings:
    """How the node turns a frame's people into messages, besides the pipeline."""

    markers: MarkerSettings          # depth, scale and the drawing/box keypoint threshold
    publish_markers: bool
    max_image_pixels: int
    hri: bool = False                # REP-155 /humans/bodies topics (posenet_ros.ros.hri)
    body_frames: bool = True         # body_<id> TF frames with depth (posenet_ros.ros.body_tf)
    target_frame: str = ""           # 3D in this frame (posenet_ros.ros.tf_input); "": optical
    transform_timeout: float = TRANSFORM_TIMEOUT_S


@dataclass(frozen=True)
class NodeSettings:
    """Every runtime setting of posenet_node, swapped whole when parameters change."""

    pipeline: PipelineSettings
    outputs: OutputSettings


@dataclass(frozen=True)
class Spec:
    name: str
    default: Any
    description: str
    bounds: tuple | None = None      # (from, to) or (from, to, step): int or float range
    read_only: bool = False
    engine: bool = False             # an EstimatorConfig field (of the same name unless field)
    field: str = ""
    tracker: str = ""                # the TrackerConfig field it sets
    depth: str = ""                  # the DepthConfig field it sets
    # The only valid values (strings, or integers no range describes); see check_choice.
    choices: tuple[str | int, ...] = ()

    def descriptor(self) -> ParameterDescriptor:
        constraints = f"one of {', '.join(map(str, self.choices))}" if self.choices else ""
        descriptor = ParameterDescriptor(description=self.description, read_only=self.read_only,
                                         additional_constraints=constraints)
        if self.bounds is not None:
            low, high, *step = self.bounds
            if isinstance(self.default, float):
                descriptor.floating_point_range = [FloatingPointRange(
                    from_value=float(low), to_value=float(high), step=float(sum(step)))]
            else:   # step 1 unless given: any integer in range
                descriptor.integer_range = [IntegerRange(
                    from_value=int(low), to_value=int(high), step=int(step[0]) if step else 1)]
        return descriptor


_ENGINE = EstimatorConfig()
_MARKERS = MarkerSettings()
_TRACKER = TrackerConfig()
_DEPTH = DepthConfig()
SPECS: tuple[Spec, ...] = (
    # Engine, changeable at run time; model, precision, stride, providers, device, threads and
    # preprocess rebuild the ONNX Runtime session.
    Spec("model", "", f"a model name ({', '.join(MODEL_NAMES)}) or an ONNX file / TF.js "
         f"model.json; empty: {DEFAULT_MODEL} (for PoseNet, the converted model of "
         "output_stride)", engine=True),
    Spec("precision", _ENGINE.precision, "of a named model: fp32, or int8 (statically "
         "quantised where the accuracy guard let it in, `posenet-ros convert --int8`)",
         engine=True, choices=PRECISIONS),
    # No integer range: (8, 32, step 8) would advertise 24, which the engine refuses.
    Spec("output_stride", _ENGINE.output_stride, f"one of {', '.join(map(str, VALID_STRIDES))}: "
         "finer strides are slower and more precise", engine=True, choices=VALID_STRIDES),
    Spec("input_resolution", int(_ENGINE.input_resolution), "square network input in pixels, "
         "rounded to (r - 1) % output_stride == 0 like tfjs", bounds=RESOLUTION_RANGE,
         engine=True),
    # 0 means off, so the range cannot exclude (0, 0.2): the engine refuses those with the reason.
    Spec("image_scale_factor", 0.0, "when > 0 ({}-{}), replaces input_resolution: the input "
         "is the image size times this factor; 0: off".format(*SCALE_FACTOR_RANGE),
         bounds=(0.0, SCALE_FACTOR_RANGE[1]), engine=True),
    Spec("flip_horizontal", _ENGINE.flip_horizontal, "mirror keypoints (x' = width - 1 - x), "
         "for mirrored webcams", engine=True),
    Spec("decoder", _ENGINE.decoder, "single: one pose (per-part argmax); multi: greedy "
         "multi-person decoding", engine=True, choices=DECODERS),
    Spec("max_detections", _ENGINE.max_detections, "multi: at most this many people",
         bounds=MAX_DETECTIONS_RANGE, engine=True),
    Spec("score_threshold", _ENGINE.score_threshold, "multi: minimum root keypoint score of a "
         "person", bounds=(0.0, 1.0), engine=True),
    Spec("nms_radius", _ENGINE.nms_radius, "multi: non-maximum suppression radius in input "
         "pixels", bounds=NMS_RADIUS_RANGE, engine=True),
    Spec("providers", list(_ENGINE.providers), "ONNX Runtime execution providers tried in "
         "order (tensorrt, cuda, cpu, ...); unavailable ones fall back with a warning",
         engine=True),
    Spec("device_id", _ENGINE.device_id, "GPU index for the cuda/tensorrt providers",
         bounds=(0, 64), engine=True),
    Spec("threads", _ENGINE.threads, "ONNX Runtime intra-op threads; 0: one per core",
         bounds=(0, 256), engine=True),
    Spec("busy_wait", _ENGINE.busy_wait, "ONNX Runtime threads spin-wait for work: "
         "faster inference on cores this node has to itself, slower DDS when they are shared",
         engine=True),
    Spec("preprocess", _ENGINE.preprocess, "pad/resize/normalise on the host, or on the device "
         "inside the model (uint8 upload); auto: device when a GPU provider runs the model",
         engine=True, choices=PREPROCESS),
    # Node outputs, changeable at run time.
    Spec("min_keypoint_score", _MARKERS.min_keypoint_score, "keypoints below this score are "
         "left out of markers and the annotated image (they stay in PoseArray)",
         bounds=(0.0, 1.0)),
    Spec("publish_markers", True, "publish visualization_msgs/MarkerArray on markers (only "
         "while subscribed)"),
    Spec("hri", False, "publish REP-155 (ROS4HRI) body topics: /humans/bodies/tracked and, per "
         "confirmed track, /humans/bodies/<id>/skeleton2d and /roi (needs tracking and the "
         "hri_msgs package)"),
    Spec("body_frames", True, "with use_depth: a body_<id> TF frame per confirmed track "
         "(REP-155: origin mid-hips, x forward, z up) at the image stamp, parent the image's "
         "frame; none for an image where the hips have no depth"),
    Spec("target_frame", "", "with use_depth: the frame 3D keypoints and people positions "
         "are published in (e.g. base_link), through tf2 at each image's stamp; empty: the "
         "image's optical frame. Without the transform in time a frame goes out in the "
         "optical frame (PoseArray.frame_id_3d says which) and a throttled line says why"),
    Spec("transform_timeout", TRANSFORM_TIMEOUT_S, "seconds a frame waits for its "
         "target_frame transform before it goes out in the optical frame (only a late one, "
         "tf2's extrapolation, is waited for)", bounds=(0.0, 1.0)),
    Spec("marker_depth", _MARKERS.depth, "metres from the camera at which keypoints are "
         "placed on their rays", bounds=(0.01, 100.0)),
    Spec("marker_scale", _MARKERS.scale, "keypoint sphere diameter in metres (lines are half "
         "as wide)", bounds=(0.001, 1.0)),
    Spec("max_image_pixels", DEFAULT_MAX_PIXELS, "frames with more pixels are refused as "
         "corrupt", bounds=(1, 2**31 - 1)),
    Spec("movenet_smoothing", _ENGINE.smoothing, "MoveNet single-pose: pose-detection's "
         "own keypoint filter across frames (its default); other models ignore it",
         engine=True, field="smoothing"),
    # Tracking (per stream; a change restarts the ids).
    Spec("tracking", True, "give each person a track_id that stays the same across frames "
         "(per stream, by keypoint similarity and motion, in header-stamp time)"),
    Spec("track_min_hits", _TRACKER.min_hits, "frames a new person must be matched in before "
         "it gets an id (until then track_id is 0)", bounds=MIN_HITS_RANGE, tracker="min_hits"),
    Spec("track_max_age", _TRACKER.max_age, "seconds of stamps a person may go unseen before "
         "its id is dropped", bounds=MAX_AGE_RANGE, tracker="max_age"),
    Spec("track_min_similarity", _TRACKER.min_similarity, "minimum keypoint similarity (OKS) "
         "of a match", bounds=(0.0, 1.0), tracker="min_similarity"),
    Spec("track_min_pose_score", _TRACKER.min_pose_score, "poses scoring below this are not "
         "tracked (they go out with track_id 0)", bounds=POSE_SCORE_RANGE,
         tracker="min_pose_score"),
    Spec("track_high_pose_score", _TRACKER.high_pose_score, "pose score from which a person may "
         "start a track; poses between track_min_pose_score and this only continue a confirmed "
         f"track; {MODEL_OWN:g}: the model's own (PoseNet 0.3, MoveNet 0.25)",
         bounds=(MODEL_OWN, POSE_SCORE_RANGE[1]), tracker="high_pose_score"),
    Spec("track_duplicate_oks", _TRACKER.duplicate_oks, "keypoint similarity (OKS) with a "
         "better-scoring pose of the same frame from which a pose is a duplicate and is not "
         "tracked (1: only exact copies)", bounds=DUPLICATE_OKS_RANGE, tracker="duplicate_oks"),
    Spec("track_reid_max_age", _TRACKER.reid_max_age, "seconds a lost person's look (torso and "
         "leg colours) is kept to give them their id back; 0: off", bounds=REID_MAX_AGE_RANGE,
         tracker="reid_max_age"),
    Spec("track_reid_min_similarity", _TRACKER.reid_min_similarity, "colour similarity (0-1) a "
         "new track needs to take back a lost id", bounds=(0.0, 1.0),
         tracker="reid_min_similarity"),
    Spec("smoothing", _TRACKER.smoothing, "One Euro filter on each tracked keypoint (less "
         "jitter, some lag); scores stay raw", tracker="smoothing"),
    Spec("smoothing_min_cutoff", _TRACKER.min_cutoff, "One Euro min_cutoff, Hz: lower is "
         "smoother at rest", bounds=CUTOFF_RANGE, tracker="min_cutoff"),
    Spec("smoothing_beta", _TRACKER.beta, "One Euro beta, per person-size per second: higher "
         "follows fast motion sooner", bounds=BETA_RANGE, tracker="beta"),
    Spec("smoothing_d_cutoff", _TRACKER.d_cutoff, "One Euro derivative cutoff, Hz",
         bounds=CUTOFF_RANGE, tracker="d_cutoff"),
    # Depth (an aligned depth image per stream: depth/image, depth/camera_info).
    Spec("use_depth", False, "subscribe depth/image (16UC1 millimetres or 32FC1 metres, "
         "registered to the colour image) and place keypoints in 3D (metres, optical frame)",
         read_only=True),
    Spec("depth_tolerance", _DEPTH.tolerance_s, "largest colour-depth stamp difference "
         "paired, seconds; unpaired frames go out in 2D", bounds=(0.0, 1.0),
         depth="tolerance_s"),
    Spec("depth_window", _DEPTH.window, "radius in depth pixels of the window sampled around "
         "each keypoint", bounds=(0, 20), depth="window"),
    Spec("depth_min_range", _DEPTH.min_range, "nearer depth readings are ignored, metres",
         bounds=(0.01, 100.0), depth="min_range"),
    Spec("depth_max_range", _DEPTH.max_range, "farther depth readings are ignored, metres",
         bounds=(0.01, 100.0), depth="max_range"),
    Spec("depth_outlier_band", _DEPTH.outlier_band, "metres a keypoint may lie from its "
         "person's torso depth (rejects background seen past a limb)", bounds=(0.01, 10.0),
         depth="outlier_band"),
    Spec("autostart", True, "configure and activate at start-up (as a plain node does); "
         "false: wait for a lifecycle manager", read_only=True),
    # Transport: read-only, they fix the subscriptions made at start-up.
    Spec("image_transport", "raw", "raw: sensor_msgs/Image on 'image'; compressed: "
         "sensor_msgs/CompressedImage on 'image/compressed'", read_only=True,
         choices=IMAGE_TRANSPORTS),
    Spec("image_topics", [], "camera streams batched through one model: one image topic "
         "each (e.g. cam1/image_raw, +'/compressed' per image_transport), outputs and "
         "camera_info in its parent namespace (cam1/poses, cam1/markers, "
         "cam1/image_annotated, cam1/camera_info); empty: the single stream on 'image'",
         read_only=True),
    Spec("qos_reliability", "best_effort", "input QoS reliability (best_effort accepts both "
         "kinds of publisher)", read_only=True, choices=RELIABILITIES),
    Spec("qos_depth", 1, "input queue depth; the node processes only the newest frame anyway",
         bounds=(1, 100), read_only=True),
)
BY_NAME = {spec.name: spec for spec in SPECS}


def declare(node) -> dict[str, Any]:
    """Declare every parameter on ``node`` and return their values (overrides applied).

    Raises ConfigError for an override of the wrong type or out of range, and for an invalid
    choice (read-only ones are checked only here).
    """
    try:
        node.declare_parameters("", [(s.name, _declared_default(s), s.descriptor())
                                     for s in SPECS])
    except ParameterException as exc:   # a bad override from the command line or YAML
        raise ConfigError(str(exc)) from None
    values = {s.name: _value(node, s) for s in SPECS}
    for spec in SPECS:
        check_choice(spec.name, values[spec.name])
    return values


def _declared_default(spec: Spec) -> Any:
    return Parameter.Type.STRING_ARRAY if spec.default == [] else spec.default


def _value(node, spec: Spec) -> Any:
    try:
        return node.get_parameter(spec.name).value
    except ParameterUninitializedException:   # declared by type, no override: the default
        return spec.default


def check_choice(name: str, value: Any) -> None:
    """Raise ConfigError when a string parameter is not one of its choices."""
    spec = BY_NAME[name]
    if spec.choices and value not in spec.choices:
        shown = shorten(value) if isinstance(value, str) else value
        raise ConfigError(f"{name} {shown} is invalid: use one of {spec.choices}")


def engine_value(name: str, value: Any) -> Any:
    """Convert a parameter value to what the EstimatorConfig field wants."""
    if name == "model":
        return value or None
    if name == "image_scale_factor":
        return value if value > 0 else None
    if name == "providers":
        return tuple(value)
    return value


def engine_changes(values: dict[str, Any]) -> dict[str, Any]:
    """Pick the engine fields among ``values`` (name -> parameter value), converted."""
    return {BY_NAME[name].field or name: engine_value(name, value)
            for name, value in values.items() if BY_NAME[name].engine}


def settings(values: dict[str, Any]) -> NodeSettings:
    """Build the node's settings from a full set of parameter values; raises ConfigError."""
    return NodeSettings(
        PipelineSettings(estimator_config(values), tracker_config(values), depth_config(values)),
        OutputSettings(MarkerSettings(values["marker_depth"], values["marker_scale"],
                                      values["min_keypoint_score"]),
                       values["publish_markers"], values["max_image_pixels"], values["hri"],
                       values["body_frames"], target_frame(values["target_frame"]),
                       values["transform_timeout"]))


def target_frame(name: str) -> str:
    """Check a target_frame as tf2 would take it; raises ConfigError naming the fix."""
    if name.startswith("/"):
        raise ConfigError(f"target_frame {shorten(name)} starts with '/': tf2 frame ids "
                          f"never do; use {shorten(name.lstrip('/'))}")
    if len(name) > MAX_FRAME_NAME:
        raise ConfigError(f"target_frame {shorten(name)} is longer than {MAX_FRAME_NAME} "
                          "characters")
    return name


def estimator_config(values: dict[str, Any]) -> EstimatorConfig:
    """Build the engine config from a full set of parameter values; raises ConfigError."""
    config = EstimatorConfig(**engine_changes(values))
    check_model(config)     # a name no family has: refused now, not at the next load
    return config


def tracker_config(values: dict[str, Any]) -> TrackerConfig | None:
    """Build the tracker settings from a full set of values; None with tracking off.

    Raises ConfigError for an invalid combination.
    """
    if not values["tracking"]:
        return None
    try:
        return TrackerConfig(**{s.tracker: values[s.name] for s in SPECS if s.tracker})
    except TrackerError as exc:
        raise ConfigError(str(exc)) from None


def depth_config(values: dict[str, Any]) -> DepthConfig | None:
    """Build the depth settings from a full set of values; None without use_depth."""
    if not values["use_depth"]:
        return None
    return DepthConfig(**{s.depth: values[s.name] for s in SPECS if s.depth})
