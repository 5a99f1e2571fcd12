"""Build an int8 model, install it only if it passes the guard, and remember a refusal.

One recipe for both families (:mod:`posenet_ros.quantize.static`), fed what each network
really sees: PoseNet each frame padded and resized to 257, MoveNet single pose the crops the
fp32 model itself chooses along the frames (one stream in order), MultiPose its resized and
padded frame. The frames are split: even ones calibrate, odd ones are held out for the guard.
A refused model is not installed; instead a small record (``<int8 name>.refused.json``) is
left beside where it would have gone, keyed by everything that decides the outcome: the fp32
model's bytes, the frames' pixels, the quantisation settings, the guard's thresholds, the code
that prepares the calibration inputs and judges the result (:data:`CALIBRATION_CODE`) and the
onnxruntime version. ``posenet-ros convert --int8`` then skips that model (stride 32 is
refused on the sample video) until one of those changes, instead of recalibrating on every
setup only to be refused again. An installed model carries the same key in its metadata, so
an edit to any of those rebuilds it too.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from google.protobuf.message import DecodeError
import numpy as np

from posenet_ros import families
from posenet_ros.convert.metadata import add_metadata, read_metadata
from posenet_ros.core import paths
from posenet_ros.core.paths import refusal_record
from posenet_ros.families import family_of, MOVENET
from posenet_ros.quantize import guard as int8_guard
from posenet_ros.quantize import static as quantize
from posenet_ros.quantize.guard import accuracy_guard, Guard

log = logging.getLogger(__name__)

CALIBRATION_FRAMES = 80        # from the sample video: 40 calibrate, 40 are held out
# Package files whose code decides what calibration sees and how the result is judged. The
# Makefile's models stamp covers them too, so `make setup` runs the check (test_int8 checks).
CALIBRATION_CODE = ("quantize/*.py", "families/posenet/preprocess.py",
                    "families/posenet/calibration.py", "families/movenet/*.py",
                    "filters/*.py")
KEY_PROPERTY = "int8_inputs"    # the installed model's metadata entry holding its inputs_key


class QuantizationRefused(RuntimeError):
    """The int8 model disagrees too much with fp32 on held-out frames; it was not installed."""


def _settings(fp32_path: str | Path) -> dict:
    """Return the quantisation settings of the model's family (by its input, as at run time)."""
    return quantize.MOVENET_SETTINGS if family_of(fp32_path) == MOVENET else quantize.SETTINGS


def inputs_key(fp32_path: str | Path, frames: list[np.ndarray]) -> str:
    """SHA-256 over everything that decides whether the int8 model passes."""
    import onnxruntime

    digest = hashlib.sha256()
    digest.update(hashlib.sha256(Path(fp32_path).read_bytes()).digest())
    for frame in frames:
        digest.update(repr((frame.shape, frame.dtype.str)).encode())
        digest.update(np.ascontiguousarray(frame).data)
    guard = {name: getattr(int8_guard, name) for name in (
        "MIN_WITHIN_3PX", "MIN_POSE_COUNT_AGREEMENT", "CONFIDENT_SCORE", "CLOSE_PX")
        + (("STREAM_PERIOD_S",) if family_of(fp32_path) == MOVENET else ())}
    settings = {"quantize": _settings(fp32_path), "onnxruntime": onnxruntime.__version__,
                "guard": guard}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    package = Path(__file__).resolve().parents[1]
    for source in sorted({f for pattern in CALIBRATION_CODE for f in package.glob(pattern)}):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    return digest.hexdigest()


def installed_key(int8_path: str | Path) -> str | None:
    """Return the inputs_key an installed int8 model was built from (None: absent or older)."""
    try:
        return read_metadata(int8_path).get(KEY_PROPERTY)
    except (OSError, DecodeError):      # unreadable counts as not built: the build replaces it
        return None


def recorded_refusal(int8_path: str | Path, key: str) -> str | None:
    """Return the guard's verdict of an earlier refusal with the same inputs, else None."""
    try:
        record = paths.read_refusal(int8_path)
    except (OSError, ValueError) as exc:    # unreadable: try again, and rewrite it if refused
        log.warning("ignoring %s: %s", refusal_record(int8_path), exc)
        return None
    if record is None or record.get("key") != key:
        return None
    return str(record.get("guard", "no verdict recorded"))


def build_int8(fp32_path: str | Path, int8_path: str | Path,
               frames: list[np.ndarray]) -> Guard | None:
    """Quantise ``fp32_path`` into ``int8_path`` if the result passes the accuracy guard.

    Returns the guard's verdict, or None when ``int8_path`` is already built from the same
    inputs. Raises QuantizationRefused, without calibrating, when the same inputs were refused
    before, and after calibrating when the guard refuses now (which is then recorded).
    """
    int8_path = Path(int8_path)
    key = inputs_key(fp32_path, frames)
    if int8_path.is_file() and installed_key(int8_path) == key:
        return None
    earlier = recorded_refusal(int8_path, key)
    if earlier is not None:
        raise QuantizationRefused(f"int8 model refused with the same inputs before ({earlier}; "
                                  f"delete {refusal_record(int8_path)} to try again)")
    calibration, held_out = frames[0::2], frames[1::2]
    tmp = int8_path.with_name(int8_path.stem + ".tmp.onnx")
    try:        # the temporary file never outlives this call, whatever interrupts it
        quantize.quantize(fp32_path, tmp, calibration_feeds(fp32_path, calibration),
                          _settings(fp32_path))
        guard = accuracy_guard(fp32_path, tmp, held_out)
        log.info("%s", guard)
        if not guard.passed:
            refusal_record(int8_path).write_text(json.dumps(
                {"key": key, "fp32": Path(fp32_path).name, "guard": str(guard)}, indent=1) + "\n")
            raise QuantizationRefused(f"int8 model refused: {guard}")
        add_metadata(tmp, {"int8_guard": str(guard), KEY_PROPERTY: key})
        tmp.replace(int8_path)
    finally:
        tmp.unlink(missing_ok=True)
    refusal_record(int8_path).unlink(missing_ok=True)
    log.info("wrote %s (int8, calibrated on %d frames)", int8_path, len(calibration))
    return guard


def calibration_feeds(fp32_path: str | Path, frames: list[np.ndarray]) -> list[np.ndarray]:
    """Return the network inputs the fp32 model itself is fed for ``frames`` (RGB, in order)."""
    return families.calibration_feeds(fp32_path, frames, int8_guard.STREAM_PERIOD_S,
                                      quantize.SETTINGS["resolution"])


def verdict(int8_path: str | Path) -> str:
    """Return the guard's verdict on an int8 model: installed (metadata), refused, or not built."""
    int8_path = Path(int8_path)
    if int8_path.is_file():
        try:
            meta = read_metadata(int8_path)
        except (OSError, DecodeError) as exc:
            return f"unreadable ({exc}; `posenet-ros convert --int8` rebuilds it)"
        return f"installed: {meta.get('int8_guard', 'no verdict recorded')}"
    refused = paths.refusal_verdict(int8_path)
    if refused is not None:
        return f"refused: {refused} ({refusal_record(int8_path).name})"
    return "not built (`posenet-ros convert --int8`)"
