"""The image codec on hand-built sensor_msgs messages: encodings, padding, malformed cases."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

try:
    from posenet_ros.imaging.ros_image import decode, ImageDecodeError
    from posenet_ros.ros.images import rgb_to_image
    from sensor_msgs.msg import CompressedImage, Image
    from std_msgs.msg import Header
except ImportError as exc:
    pytest.skip(f"ROS 2 message wheels missing ({exc}): run `make setup`",
                allow_module_level=True)

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, size=(6, 10, 3), dtype=np.uint8)


def make_image(pixels: np.ndarray, encoding: str, pad: int = 0) -> Image:
    """Pack uint8 ``pixels`` (HxW or HxWxC) into an Image, rows padded by ``pad`` bytes."""
    height, width = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    if pad:
        rows = np.hstack([rows, np.full((height, pad), 0xAB, np.uint8)])
    msg = Image(height=height, width=width, encoding=encoding, step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize("pad", [0, 5])
@pytest.mark.parametrize("encoding,to_message", [
    ("rgb8", lambda rgb: rgb),
    ("bgr8", lambda rgb: rgb[..., ::-1]),
    ("8UC3", lambda rgb: rgb[..., ::-1]),
    ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 9, np.uint8)])),
    ("bgra8", lambda rgb: np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 9, np.uint8)])),
])
def test_colour_encodings_round_trip(encoding, to_message, pad):
    out = decode(make_image(np.ascontiguousarray(to_message(RGB)), encoding, pad=pad))
    assert out.dtype == np.uint8 and out.shape == RGB.shape
    np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize("encoding", ["mono8", "8UC1"])
def test_mono8_becomes_grey_rgb(encoding):
    gray = RGB[..., 0].copy()
    out = decode(make_image(gray, encoding, pad=3))
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray)


@pytest.mark.parametrize("bigendian", [False, True])
def test_mono16_keeps_the_high_byte(bigendian):
    values = RNG.integers(0, 65536, size=(4, 6), dtype=np.uint16)
    stored = values.astype(">u2" if bigendian else "<u2")
    out = decode(_mono16_message(stored, bigendian))
    np.testing.assert_array_equal(out[..., 1], (values >> 8).astype(np.uint8))


def _mono16_message(stored: np.ndarray, bigendian: bool) -> Image:
    height, width = stored.shape
    msg = Image(height=height, width=width, encoding="mono16", is_bigendian=int(bigendian),
                step=width * 2 + 2)  # a padded row, to exercise strides with 2-byte pixels
    rows = np.hstack([stored.view(np.uint8).reshape(height, width * 2),
                      np.zeros((height, 2), np.uint8)])
    msg.data = rows.tobytes()
    return msg


@pytest.mark.parametrize("encoding,code", [
    ("yuv422", cv2.COLOR_RGB2YUV_UYVY), ("uyvy", cv2.COLOR_RGB2YUV_UYVY),
    ("yuv422_yuy2", cv2.COLOR_RGB2YUV_YUYV), ("yuyv", cv2.COLOR_RGB2YUV_YUYV),
])
def test_yuv422_variants_match_their_byte_order(encoding, code):
    # A flat colour survives 4:2:2 chroma subsampling, so the round trip is near exact;
    # the other byte order would swap luma and chroma and fail by far.
    flat = np.empty((4, 8, 3), np.uint8)
    flat[:] = (200, 120, 40)
    packed = cv2.cvtColor(flat, code)
    assert packed.shape == (4, 8, 2)
    out = decode(make_image(packed, encoding, pad=4))
    assert np.abs(out.astype(int) - flat).max() <= 3


@pytest.mark.parametrize("encoding,offsets", [
    ("bayer_rggb8", {"R": (0, 0), "B": (1, 1)}),
    ("bayer_bggr8", {"R": (1, 1), "B": (0, 0)}),
    ("bayer_gbrg8", {"R": (1, 0), "B": (0, 1)}),
    ("bayer_grbg8", {"R": (0, 1), "B": (1, 0)}),
])
def test_bayer_patterns_give_the_right_colour(encoding, offsets):
    colour = (200, 100, 30)
    mosaic = np.full((8, 8), colour[1], np.uint8)
    (ry, rx), (by, bx) = offsets["R"], offsets["B"]
    mosaic[ry::2, rx::2] = colour[0]
    mosaic[by::2, bx::2] = colour[2]
    out = decode(make_image(mosaic, encoding))
    np.testing.assert_array_equal(out[3, 3], colour)


@pytest.mark.parametrize("ext,fmt", [
    (".jpg", "jpeg"), (".png", "png"), (".png", "bgr8; png compressed bgr8")])
def test_compressed(ext, fmt):
    # Smooth ramps, distinct per channel: JPEG keeps them within a few levels, while a
    # swapped channel order would be off by far.
    ys, xs = np.mgrid[0:48, 0:80]
    big = np.dstack([xs * 3, ys * 5, np.full_like(xs, 40)]).astype(np.uint8)
    bgr = cv2.cvtColor(big, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(ext, bgr, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    msg = CompressedImage(format=fmt)
    msg.data = buf.tobytes()
    out = decode(msg)
    assert out.shape == big.shape
    assert np.abs(out.astype(int) - big).max() <= (0 if ext == ".png" else 6)


def _bad(**fields) -> Image:
    msg = Image(height=4, width=5, encoding="rgb8", step=15)
    msg.data = bytes(60)
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


@pytest.mark.parametrize("msg,pattern", [
    (_bad(encoding="32FC1"), "unsupported encoding '32FC1'"),
    (_bad(encoding="16UC1", step=10, data=bytes(40)), "16UC1"),
    (_bad(step=14), "step 14 is smaller than width 5 x 3 bytes per pixel = 15"),
    (_bad(data=bytes(59)), "data has 59 bytes, expected step 15 x height 4 = 60"),
    (_bad(width=0, step=0, data=b""), "zero size: 0x4"),
    (_bad(height=0, data=b""), "zero size: 5x0"),
    (_bad(encoding="yuv422", step=10, data=bytes(40)), "width 5 is odd"),
])
def test_malformed_raw_images_raise_specific_errors(msg, pattern):
    with pytest.raises(ImageDecodeError, match=pattern.replace("(", r"\(").replace(")", r"\)")):
        decode(msg)


def test_huge_image_is_refused_before_touching_data():
    msg = _bad(width=100_000, height=100_000, step=300_000)
    with pytest.raises(ImageDecodeError, match="over the limit"):
        decode(msg)
    with pytest.raises(ImageDecodeError, match="20 pixels, over the limit of 19"):
        decode(_bad(), max_pixels=19)


def _jpeg(width=64, height=48) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.zeros((height, width, 3), np.uint8))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize("data,pattern", [
    (b"", "has no data"),
    (b"not an image at all", "neither JPEG nor PNG"),
    (_jpeg()[:200], "truncated JPEG"),
    (_jpeg()[:2] + bytes(300) + b"\xff\xd9", "corrupt JPEG"),
])
def test_bad_compressed_images(data, pattern):
    msg = CompressedImage(format="jpeg")
    msg.data = data
    with pytest.raises(ImageDecodeError, match=pattern):
        decode(msg)


def test_compressed_size_limit_reads_the_header_first():
    msg = CompressedImage(format="jpeg")
    msg.data = _jpeg(640, 480)
    with pytest.raises(ImageDecodeError, match="640x480 = 307200 pixels"):
        decode(msg, max_pixels=1000)
    ok, png = cv2.imencode(".png", np.zeros((30, 40, 3), np.uint8))
    msg = CompressedImage(format="png")
    msg.data = png.tobytes()
    with pytest.raises(ImageDecodeError, match="40x30"):
        decode(msg, max_pixels=1000)


def test_compressed_depth_is_refused():
    msg = CompressedImage(format="16UC1; compressedDepth png")
    msg.data = b"\x00" * 20
    with pytest.raises(ImageDecodeError, match="compressed depth"):
        decode(msg)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_rgb_to_image_round_trip_keeps_header(encoding):
    header = Header(frame_id="cam_optical")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = rgb_to_image(RGB, header, encoding)
    assert (msg.width, msg.height, msg.step, msg.encoding) == (10, 6, 30, encoding)
    assert msg.header.frame_id == "cam_optical" and msg.header.stamp.nanosec == 345
    np.testing.assert_array_equal(decode(msg), RGB)


def test_rgb_to_image_rejects_wrong_arrays():
    with pytest.raises(ImageDecodeError, match="HxWx3 uint8"):
        rgb_to_image(np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageDecodeError, match="output encoding"):
        rgb_to_image(RGB, encoding="mono8")
