"""Pad-and-resize against a naive, loop-by-loop transcription of tfjs resizing.

The transcription follows tfjs padAndResizeTo + resizeBilinear.
"""
import numpy as np
from posenet_ros.families.posenet.preprocess import letterbox, Preprocessor, to_image_coords
import pytest


def naive_tfjs(image, target_h, target_w):
    h, w = image.shape[:2]
    box = letterbox(w, h, target_w, target_h)
    padded = np.zeros((h + box.pad_top + box.pad_bottom, w + box.pad_left + box.pad_right, 3))
    padded[box.pad_top:box.pad_top + h, box.pad_left:box.pad_left + w] = image
    ph, pw = padded.shape[:2]
    out = np.zeros((target_h, target_w, 3))
    for r in range(target_h):
        fr = r * (ph / target_h)
        r0, r1 = max(0, int(np.floor(fr))), min(ph - 1, int(np.ceil(fr)))
        for c in range(target_w):
            fc = c * (pw / target_w)
            c0, c1 = max(0, int(np.floor(fc))), min(pw - 1, int(np.ceil(fc)))
            top = padded[r0, c0] + (padded[r0, c1] - padded[r0, c0]) * (fc - c0)
            bottom = padded[r1, c0] + (padded[r1, c1] - padded[r1, c0]) * (fc - c0)
            out[r, c] = top + (bottom - top) * (fr - r0)
    return (out / 127.5 - 1.0).transpose(2, 0, 1), box


# Enlarged frames take the exact table-driven pass (float32 rounding only); frames at least as
# large as the input along their unpadded side take warpAffine, whose 1/32 px sample positions
# keep it within 0.01 grey levels.
EXACT, WARP = 1e-5, 0.01 / 127.5


@pytest.mark.parametrize("shape,target,tolerance", [
    ((5, 7, 3), (9, 9), EXACT), ((7, 5, 3), (9, 9), EXACT), ((6, 6, 3), (17, 9), EXACT),
    ((7, 11, 3), (9, 9), WARP), ((13, 5, 3), (9, 9), WARP), ((10, 10, 3), (17, 9), WARP),
    ((9, 9, 3), (9, 9), EXACT), ((31, 47, 3), (9, 9), WARP), ((47, 23, 3), (17, 9), WARP),
    ((40, 40, 3), (9, 9), WARP)])
def test_matches_tfjs_pad_and_resize(shape, target, tolerance):
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    expected, box = naive_tfjs(image, *target)
    got = Preprocessor()(image, box)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=tolerance, rtol=0)


def test_same_size_input_is_passed_through_exactly():
    image = np.random.default_rng(2).uniform(0, 255, (17, 17, 3)).astype(np.float32)
    got = Preprocessor()(image, letterbox(17, 17, 17, 17))
    np.testing.assert_allclose(got, image.transpose(2, 0, 1) / 127.5 - 1.0, atol=1e-6)


def test_letterbox_pads_like_javascript_math_round():
    wide = letterbox(768, 576, 257, 257)      # pads the height: round(0.5 * (768 - 576)) = 96
    assert (wide.pad_top, wide.pad_bottom, wide.pad_left, wide.pad_right) == (96, 96, 0, 0)
    tall = letterbox(5, 8, 9, 9)              # pads the width: 0.5 * 3 = 1.5 -> 2 (JS rounds up)
    assert (tall.pad_left, tall.pad_right) == (2, 2)


def test_image_coords_undo_padding_and_scale_and_flip():
    box = letterbox(768, 576, 257, 257)
    xy = np.array([[0.0, 0.0], [256.0, 128.0]])
    got = to_image_coords(xy, box, flip_horizontal=False)
    np.testing.assert_allclose(got, [[0.0, -96.0], [768 * 256 / 257, 768 * 128 / 257 - 96]])
    flipped = to_image_coords(xy, box, flip_horizontal=True)
    np.testing.assert_allclose(flipped[:, 0], 767 - got[:, 0])
