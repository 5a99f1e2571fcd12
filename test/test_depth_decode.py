"""Depth message fields to metres, and colour/depth pairing by stamp."""
from __future__ import annotations

import numpy as np
from posenet_ros.stages.depth.depth_image import decode_depth, DepthError, encode_depth
from posenet_ros.stages.depth.pairing import DepthPairer
import pytest


@pytest.fixture
def metres():
    rng = np.random.default_rng(3)
    values = rng.uniform(0.3, 8.0, (6, 5)).astype(np.float32)
    values[0, 0] = np.nan
    return values


@pytest.mark.parametrize("encoding,bigendian,tolerance", [
    ("16UC1", False, 0.0005), ("16UC1", True, 0.0005), ("32FC1", False, 0.0),
    ("32FC1", True, 0.0)])
def test_both_encodings_give_metres(metres, encoding, bigendian, tolerance):
    width, height, step, data = encode_depth(metres, encoding, bigendian)
    decoded = decode_depth(width, height, step, encoding, bigendian, data)
    assert decoded.shape == (6, 5) and decoded.dtype == np.float32
    assert np.isnan(decoded[0, 0])
    np.testing.assert_allclose(decoded[1:], metres[1:], atol=tolerance + 1e-6)


def test_millimetres_are_not_metres():
    """1500 in 16UC1 is 1.5 m; 1.5 in 32FC1 is 1.5 m (hri_fullbody #5 confused them)."""
    mm = np.array([[1500, 0]], dtype="<u2").tobytes()
    assert decode_depth(2, 1, 4, "16UC1", False, mm)[0, 0] == pytest.approx(1.5)
    m = np.array([[1.5, np.inf]], dtype="<f4").tobytes()
    decoded = decode_depth(2, 1, 8, "32FC1", False, m)
    assert decoded[0, 0] == pytest.approx(1.5) and np.isnan(decoded[0, 1])


def test_padded_rows():
    values = np.arange(1, 7, dtype="<u2").reshape(2, 3)
    padded = np.zeros((2, 4), dtype="<u2")
    padded[:, :3] = values
    decoded = decode_depth(3, 2, 8, "16UC1", False, padded.tobytes())
    np.testing.assert_allclose(decoded, values / 1000.0, rtol=1e-6)


@pytest.mark.parametrize("fields,message", [
    ((4, 2, 8, "rgb8", False, bytes(16)), "not supported"),
    ((4, 2, 8, "mono16", False, bytes(16)), "not supported"),
    ((0, 0, 0, "16UC1", False, b""), "no pixels"),
    ((4, 2, 6, "16UC1", False, bytes(12)), "step"),
    ((4, 2, 9, "16UC1", False, bytes(18)), "step"),
    ((4, 2, 8, "16UC1", False, bytes(15)), "bytes"),
    ((4, 2, 16, "32FC1", False, bytes(40)), "bytes"),
    ((100000, 100000, 200000, "16UC1", False, b""), "corrupt"),
])
def test_bad_depth_is_refused_clearly(fields, message):
    with pytest.raises(DepthError, match=message):
        decode_depth(*fields)


def test_pairing_takes_the_nearest_within_tolerance():
    pairer = DepthPairer(tolerance_s=0.02, max_frames=4)
    for i in range(4):
        pairer.add_depth(10.0 + i / 30.0, f"d{i}")
    assert pairer.match(10.0 + 1 / 30.0 + 0.005) == "d1"
    assert len(pairer) == 3          # d0 is older than a matched frame: never needed again
    assert pairer.match(10.5) is None           # too far from every depth frame
    assert pairer.match(10.0 + 2 / 30.0 - 0.012) == "d2"


def test_pairing_never_waits_and_is_bounded():
    pairer = DepthPairer(tolerance_s=0.05, max_frames=3)
    assert pairer.match(1.0) is None             # no depth yet: colour goes on in 2D
    for i in range(100):
        pairer.add_depth(float(i), i)
    assert len(pairer) == 3
    assert pairer.match(99.01) == 99
    pairer.add_depth(2.0, "after a loop")      # time jumped back: the old frames go
    assert len(pairer) == 1 and pairer.match(2.0) == "after a loop"


@pytest.mark.parametrize("kwargs", [{"tolerance_s": -1.0}, {"tolerance_s": float("nan")},
                                    {"max_frames": 0}])
def test_pairing_settings_are_checked(kwargs):
    with pytest.raises(ValueError):
        DepthPairer(**kwargs)
