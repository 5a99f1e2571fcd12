"""MoveNet's network input, computed as tfjs-backend-wasm computes it (float32, same order).

pose-detection casts the resized image to int32, which truncates: a pixel that tfjs computes
as 127.99999 becomes 127, so the interpolation must reproduce the wasm kernels' float32
arithmetic operation for operation, not merely approximate it (``cv2.resize`` differs by
rounding). ``crop_and_resize`` follows ``CropAndResize.cc`` (bilinear, extrapolation value 0
outside the image), ``resize_bilinear`` ``ResizeBilinear.cc`` (no align-corners, no half-pixel
centres).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

_F = np.float32


def crop_and_resize(image: np.ndarray, box: tuple[float, float, float, float],
                    size: tuple[int, int]) -> np.ndarray:
    """Return ``tf.cast(tf.image.cropAndResize(image, [box], [0], size), 'int32')`` [1,h,w,3].

    ``box`` is (yMin, xMin, yMax, xMax) normalised, ``size`` (crop_height, crop_width).
    """
    h, w = image.shape[:2]
    crop_h, crop_w = size
    y1, x1, y2, x2 = (_F(v) for v in box)          # tf.tensor2d: float32 boxes
    y_ind = _indices(y1, y2, h, crop_h)
    x_ind = _indices(x1, x2, w, crop_w)
    top, bottom = np.floor(y_ind), np.ceil(y_ind)
    left, right = np.floor(x_ind), np.ceil(x_ind)
    out = _lerp2d(image, _clip(top, h), _clip(bottom, h), _clip(left, w), _clip(right, w),
                  y_ind - top, x_ind - left)
    out[~((y_ind >= 0) & (y_ind <= _F(h - 1)))] = 0
    out[:, ~((x_ind >= 0) & (x_ind <= _F(w - 1)))] = 0
    return out.astype(np.int32)[None]


def _clip(index: np.ndarray, size: int) -> np.ndarray:
    return np.clip(index, 0, size - 1).astype(np.intp)


def _indices(a: np.float32, b: np.float32, size: int, crop: int) -> np.ndarray:
    m1 = _F(size - 1)
    if crop > 1:
        scale = (b - a) * m1 / _F(crop - 1)
        return a * m1 + np.arange(crop, dtype=_F) * scale
    return np.full(1, _F(0.5) * (a + b) * m1, _F)


def _lerp2d(image: np.ndarray, top: np.ndarray, bottom: np.ndarray, left: np.ndarray,
            right: np.ndarray, y_lerp: np.ndarray, x_lerp: np.ndarray) -> np.ndarray:
    """Bilinear samples as the wasm kernels compute them: rows first, then columns, float32.

    Returns (rows, columns, 3) float32. The four corners are gathered at once into
    (rows, columns * channels) planes, so that every numpy loop runs over a whole row (a
    trailing axis of 3 made each operation several times slower).
    """
    n_rows, n_cols = len(top), len(left)
    (tl, tr), (bl, br), channels = _corners(image, (top, bottom), (left, right))
    x_weight = np.repeat(x_lerp.astype(_F), channels)
    np.subtract(tr, tl, out=tr)
    np.multiply(tr, x_weight, out=tr)
    np.add(tl, tr, out=tl)                          # top_left + (top_right - top_left) * x
    np.subtract(br, bl, out=br)
    np.multiply(br, x_weight, out=br)
    np.add(bl, br, out=bl)                          # bottom_left + (bottom_right - ...) * x
    np.subtract(bl, tl, out=bl)
    np.multiply(bl, y_lerp.astype(_F)[:, None], out=bl)
    np.add(tl, bl, out=tl)                          # upper + (lower - upper) * y
    planes = tl.reshape(n_rows, n_cols, channels)
    if channels == 3 or not planes.size:            # cvtColor refuses empty images
        return planes[..., :3]
    return cv2.cvtColor(planes, cv2.COLOR_RGBA2RGB)


def _corners(image: np.ndarray, rows: tuple[np.ndarray, np.ndarray],
             cols: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """Return float32 planes [row set][column set] of (rows, columns * channels), channels.

    A uint8 image is gathered as 4-byte RGBX pixels (one ``cvtColor`` of the region the
    samples cover, then a gather of uint32, about three times faster than gathering 3-byte
    items) and carried with its fourth channel through the arithmetic; other dtypes are
    gathered as they are (3 channels).
    """
    rows, cols = np.stack(rows), np.stack(cols)     # only the region they cover is read
    y0, x0 = (int(rows.min()), int(cols.min())) if rows.size and cols.size else (0, 0)
    region = image[y0:int(rows.max(initial=0)) + 1, x0:int(cols.max(initial=0)) + 1]
    flat = ((rows - y0) * region.shape[1])[:, None, :, None] + (cols - x0)[None, :, None, :]
    if image.dtype == np.uint8:
        pixels = cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_RGB2RGBA)
        gathered = np.take(pixels.view(np.uint32).reshape(-1), flat).view(np.uint8)
        channels = 4
    else:
        gathered = np.take(np.ascontiguousarray(region).reshape(-1, 3), flat.ravel(), axis=0)
        channels = 3
    n_rows, n_cols = flat.shape[2:]
    planes = gathered.astype(_F).reshape(2, 2, n_rows, n_cols * channels)
    return planes[0], planes[1], channels


def resize_bilinear(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Return ``tf.image.resizeBilinear(image, [out_h, out_w])`` (float32 HxWxC)."""
    h, w = image.shape[:2]
    row_frac, r0, r1 = _resize_axis(h, out_h)
    col_frac, c0, c1 = _resize_axis(w, out_w)
    return _lerp2d(image, r0, r1, c0, c1, row_frac, col_frac)


def _resize_axis(size: int, out: int):
    scale = _F(size) / _F(out)
    frac = scale * np.arange(out, dtype=_F)
    floor = np.floor(frac)
    low = np.maximum(floor, 0).astype(np.intp)
    high = np.minimum(np.ceil(frac), size - 1).astype(np.intp)
    return (frac - floor).astype(_F), low, high


def multipose_size(width: int, height: int, max_dimension: int) -> tuple[int, int, int, int]:
    """(resized_h, resized_w, padded_h, padded_w): long side to ``max_dimension``, pad to 32."""
    if width > height:
        rw, rh = max_dimension, _js_round(max_dimension * height / width)
        return rh, rw, math.ceil(rh / 32) * 32, rw
    rw, rh = _js_round(max_dimension * width / height), max_dimension
    return rh, rw, rh, math.ceil(rw / 32) * 32


def multipose_input(image: np.ndarray,
                    max_dimension: int = 256) -> tuple[np.ndarray, int, int, int, int]:
    """Return MultiPose's input: long side to ``max_dimension``, zero-padded to multiples of 32.

    Returns (int32 [1, H, W, 3], resized_h, resized_w, padded_h, padded_w).
    """
    rh, rw, ph, pw = multipose_size(image.shape[1], image.shape[0], max_dimension)
    padded = np.zeros((1, ph, pw, 3), np.int32)
    padded[0, :rh, :rw] = resize_bilinear(image, rh, rw).astype(np.int32)
    return padded, rh, rw, ph, pw


def _js_round(value: float) -> int:
    """Math.round: halves go up."""
    return int(math.floor(value + 0.5))
