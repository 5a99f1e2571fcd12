"""Image -> network input, exactly as TF.js PoseNet 2.x prepares it, and poses back again.

tfjs pads the image with zeros to the input's aspect ratio (``padAndResizeTo``), resizes with
``tf.image.resizeBilinear`` (align_corners=false, half_pixel_centers=false: source = dst * in/out,
which is *not* what ``cv2.resize`` does) and maps pixels to [-1, 1]. Here the three steps are one
separable pass driven by per-size tables: zero padding becomes zero weights, the normalisation
scale is folded into the weights, and the result is written as NCHW into a reused buffer.

For frames not enlarged along their unpadded side (every camera frame above the network input),
one float32 ``cv2.warpAffine`` with tfjs's own mapping (source = dst * scale - pad, black
outside) does the same resampling 3-4x faster, within 0.01 grey levels of it (OpenCV snaps
sample positions to 1/32 px). It must run in float: rounding the resized pixels to 8 bits (0.5
grey) is enough to flip near-tied heatmap maxima and move a keypoint to another person.
Enlarged frames, where tfjs clamps at the border instead of blending with black, take the
exact pass.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True)
class Letterbox:
    """Where the network input sits on the image: tfjs ``padding`` plus the input size."""

    image_width: int
    image_height: int
    input_width: int
    input_height: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int

    @property
    def scale_x(self) -> float:
        return (self.image_width + self.pad_left + self.pad_right) / self.input_width

    @property
    def scale_y(self) -> float:
        return (self.image_height + self.pad_top + self.pad_bottom) / self.input_height


def letterbox(image_width: int, image_height: int, input_width: int,
              input_height: int) -> Letterbox:
    """Compute tfjs ``padAndResizeTo``'s padding (JS ``Math.round``, i.e. halves round up)."""
    target_aspect = input_width / input_height
    if image_width / image_height < target_aspect:      # pad the width
        pad = _js_round(0.5 * (target_aspect * image_height - image_width))
        return Letterbox(image_width, image_height, input_width, input_height, 0, 0, pad, pad)
    pad = _js_round(0.5 * ((1.0 / target_aspect) * image_width - image_height))
    return Letterbox(image_width, image_height, input_width, input_height, pad, pad, 0, 0)


def _js_round(x: float) -> int:
    return int(np.floor(x + 0.5))


@dataclass(frozen=True)
class _Axis:
    """Gather indices and weights resampling one image axis to one input axis."""

    lo: np.ndarray       # int: source index of the lower neighbour
    hi: np.ndarray       # int: source index of the upper neighbour
    w_lo: np.ndarray     # float32 weights; zero where the sample falls in the padding
    w_hi: np.ndarray


@lru_cache(maxsize=32)
def _axis(image_size: int, pad_before: int, pad_after: int, input_size: int,
          scale: float) -> _Axis:
    padded = image_size + pad_before + pad_after
    src = np.arange(input_size, dtype=np.float64) * (padded / input_size)  # tfjs: ratio * dst
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(np.ceil(src).astype(np.int64), padded - 1)
    frac = src - lo
    w_lo, w_hi = (1.0 - frac) * scale, frac * scale
    lo, hi = lo - pad_before, hi - pad_before
    w_lo[(lo < 0) | (lo >= image_size)] = 0.0       # padding is black: contributes nothing
    w_hi[(hi < 0) | (hi >= image_size)] = 0.0
    return _Axis(np.clip(lo, 0, image_size - 1), np.clip(hi, 0, image_size - 1),
                 w_lo.astype(np.float32), w_hi.astype(np.float32))


class Preprocessor:
    """Reusable pad-resize-normalise into an NCHW float32 batch buffer."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[int, ...], np.ndarray] = {}

    def __call__(self, image: np.ndarray, box: Letterbox,
                 out: np.ndarray | None = None) -> np.ndarray:
        """``image``: HxWx3 RGB, uint8 (or float 0..255). Returns [3, input_h, input_w] in [-1, 1].

        ``out`` (a [3, h, w] float32 view, e.g. one slot of a batch) is filled when given.
        """
        if out is None:
            out = self._buffer((3, box.input_height, box.input_width))
        if _enlarges_unpadded_side(box):
            return self._exact(image, box, out)
        return self._warp(image, box, out)

    def _warp(self, image: np.ndarray, box: Letterbox, out: np.ndarray) -> np.ndarray:
        to_source = np.array([[box.scale_x, 0.0, -box.pad_left], [0.0, box.scale_y, -box.pad_top]])
        source = self._buffer(image.shape, slot=3)
        np.copyto(source, image, casting="unsafe")
        resized = cv2.warpAffine(source, to_source, (box.input_width, box.input_height),
                                 dst=self._buffer((box.input_height, box.input_width, 3), slot=2),
                                 flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        np.multiply(resized.transpose(2, 0, 1), np.float32(1.0 / 127.5), out=out)
        out -= 1.0
        return out

    def _exact(self, image: np.ndarray, box: Letterbox, out: np.ndarray) -> np.ndarray:
        rows = _axis(box.image_height, box.pad_top, box.pad_bottom, box.input_height, 1.0)
        cols = _axis(box.image_width, box.pad_left, box.pad_right, box.input_width, 1.0 / 127.5)
        # Rows first (reads whole contiguous image rows), in float32, channels last.
        r = self._buffer((box.input_height, box.image_width, 3), slot=1)
        np.multiply(image[rows.lo], rows.w_lo[:, None, None], out=r, casting="unsafe")
        r += image[rows.hi] * rows.w_hi[:, None, None]
        # Then columns, written channel-first; folded 1/127.5 leaves only the "- 1".
        planes = r.transpose(2, 0, 1)
        np.multiply(planes[:, :, cols.lo], cols.w_lo, out=out)
        out += planes[:, :, cols.hi] * cols.w_hi
        out -= 1.0
        return out

    def batch(self, size: int, box: Letterbox) -> np.ndarray:
        """Return a reused [size, 3, h, w] float32 network input for frames laid out as ``box``.

        Its contents are overwritten by the next call for the same size: run the model first.
        """
        return self._buffer((size, 3, box.input_height, box.input_width), slot=4)

    def _buffer(self, shape: tuple[int, ...], dtype=np.float32, slot: int = 0) -> np.ndarray:
        key = (slot, *shape)
        buf = self._buffers.get(key)
        if buf is None:
            if len(self._buffers) > 16:  # sizes changed a lot (e.g. mixed cameras): start over
                self._buffers.clear()
            buf = self._buffers[key] = np.empty(shape, dtype)
        return buf


def _enlarges_unpadded_side(box: Letterbox) -> bool:
    """Return whether the resize enlarges a side that has no padding.

    tfjs clamps samples past the last pixel; warpAffine would blend them with black.
    """
    unpadded_x = not (box.pad_left or box.pad_right)
    unpadded_y = not (box.pad_top or box.pad_bottom)
    return ((unpadded_x and box.image_width < box.input_width)
            or (unpadded_y and box.image_height < box.input_height))


def to_image_coords(xy: np.ndarray, box: Letterbox, flip_horizontal: bool) -> np.ndarray:
    """Map (..., 2) x/y from network-input to original-image pixels (tfjs scaleAndFlipPoses)."""
    out = np.empty_like(xy, dtype=np.float64)
    out[..., 0] = xy[..., 0] * box.scale_x - box.pad_left
    out[..., 1] = xy[..., 1] * box.scale_y - box.pad_top
    if flip_horizontal:
        out[..., 0] = box.image_width - 1 - out[..., 0]
    return out
