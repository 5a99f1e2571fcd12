"""The ROS-free camera-message decoder, on messages built with rosbags' classes.

The node and the bag tools share it; where the ROS message wheels are importable, rclpy's
messages (array.array data) must decode exactly like rosbags' (numpy data).
"""
from __future__ import annotations

import attack_fixtures as attacks
import cv2
import numpy as np
from posenet_ros.bag.typestore import COMPRESSED_IMAGE, IMAGE, typestore
from posenet_ros.imaging.ros_image import decode, ImageDecodeError, SUPPORTED_ENCODINGS
import pytest

RNG = np.random.default_rng(3)
RGB = RNG.integers(0, 256, size=(6, 10, 3), dtype=np.uint8)
T = typestore().types


def header():
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=1, nanosec=2),
                                    frame_id="cam")


def image(pixels: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False):
    height, width = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).view(np.uint8).reshape(height, -1)
    if pad:
        rows = np.hstack([rows, np.full((height, pad), 0xAB, np.uint8)])
    return T[IMAGE](header=header(), height=height, width=width, encoding=encoding,
                    is_bigendian=int(bigendian), step=rows.shape[1], data=rows.ravel())


def compressed(data: bytes, fmt: str = "jpeg"):
    return T[COMPRESSED_IMAGE](header=header(), format=fmt, data=np.frombuffer(data, np.uint8))


def cases():
    """Yield (encoding, message pixels, expected RGB) for every supported raw encoding."""
    gray = cv2.cvtColor(RGB, cv2.COLOR_RGB2GRAY)
    alpha = np.full(RGB.shape[:2], 9, np.uint8)
    gray16 = gray.astype(np.uint16) * 257 + 3
    yield "rgb8", RGB, RGB
    yield "bgr8", RGB[..., ::-1], RGB
    yield "8UC3", RGB[..., ::-1], RGB
    yield "rgba8", np.dstack([RGB, alpha]), RGB
    yield "bgra8", np.dstack([RGB[..., ::-1], alpha]), RGB
    yield "8UC4", np.dstack([RGB[..., ::-1], alpha]), RGB
    yield "mono8", gray, np.dstack([gray] * 3)
    yield "8UC1", gray, np.dstack([gray] * 3)
    yield "mono16", gray16.astype("<u2"), np.dstack([gray] * 3)   # >> 8 keeps the top byte
    yuv = cv2.cvtColor(RGB, cv2.COLOR_RGB2YUV)
    uyvy = np.zeros((6, 10, 2), np.uint8)
    uyvy[..., 1] = yuv[..., 0]
    uyvy[:, 0::2, 0] = yuv[:, 0::2, 1]   # U on even pixels, V on odd (UYVY: U Y0 V Y1)
    uyvy[:, 1::2, 0] = yuv[:, 0::2, 2]
    expected = cv2.cvtColor(uyvy, cv2.COLOR_YUV2RGB_UYVY)
    yield "yuv422", uyvy, expected
    yield "uyvy", uyvy, expected
    yuyv = uyvy[..., ::-1].copy()
    yield "yuyv", yuyv, cv2.cvtColor(yuyv, cv2.COLOR_YUV2RGB_YUYV)
    yield "yuv422_yuy2", yuyv, cv2.cvtColor(yuyv, cv2.COLOR_YUV2RGB_YUYV)
    for pattern in ("rggb", "bggr", "gbrg", "grbg"):    # a flat colour survives demosaicing
        yield f"bayer_{pattern}8", mosaic(pattern), np.broadcast_to(FLAT, RGB.shape)


FLAT = np.array([200, 100, 30], np.uint8)


def mosaic(pattern: str) -> np.ndarray:
    """Make a Bayer image of the flat colour FLAT, ``pattern`` naming the 2x2 cell by rows."""
    channel = {"r": 0, "g": 1, "b": 2}
    cells = np.zeros((6, 10), np.uint8)
    for k, letter in enumerate(pattern):
        cells[k // 2::2, k % 2::2] = FLAT[channel[letter]]
    return cells


CASES = list(cases())


def test_every_supported_encoding_has_a_case():
    assert sorted(c[0] for c in CASES) == sorted(SUPPORTED_ENCODINGS)


@pytest.mark.parametrize("pad", [0, 6])
@pytest.mark.parametrize("encoding,pixels,expected", CASES, ids=[c[0] for c in CASES])
def test_raw_encodings_decode_to_rgb(encoding, pixels, expected, pad):
    out = decode(image(pixels, encoding, pad=pad))
    assert out.dtype == np.uint8 and out.shape == RGB.shape and out.flags.c_contiguous
    np.testing.assert_array_equal(out, expected)


def test_mono16_big_endian():
    gray16 = (np.arange(60, dtype=np.uint16).reshape(6, 10) * 1000)
    out = decode(image(gray16.astype(">u2"), "mono16", bigendian=True))
    np.testing.assert_array_equal(out[..., 0], (gray16 >> 8).astype(np.uint8))


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_compressed_jpeg_and_png(ext):
    flat = np.ascontiguousarray(np.broadcast_to(FLAT, (16, 24, 3)))
    ok, data = cv2.imencode(ext, flat[..., ::-1])    # OpenCV writes BGR
    out = decode(compressed(data.tobytes(), "bgr8; jpeg compressed bgr8"))
    assert out.shape == flat.shape
    np.testing.assert_allclose(out, flat, atol=0 if ext == ".png" else 3)


@pytest.mark.parametrize("msg,message", [
    (image(RGB, "rgb16"), "unsupported encoding 'rgb16'"),
    (image(RGB[..., 0].astype("<u2"), "16UC1"), "depth image"),
    (T[IMAGE](header=header(), height=6, width=10, encoding="rgb8", is_bigendian=0, step=20,
              data=RGB.ravel()), "step 20 is smaller than width 10 x 3"),
    (T[IMAGE](header=header(), height=6, width=10, encoding="rgb8", is_bigendian=0, step=30,
              data=RGB.ravel()[:100]), "data has 100 bytes, expected step 30 x height 6"),
    (T[IMAGE](header=header(), height=0, width=10, encoding="rgb8", is_bigendian=0, step=30,
              data=RGB.ravel()), "zero size"),
    (image(np.zeros((2, 3, 2), np.uint8), "yuv422"), "width 3 is odd"),
    (compressed(b""), "has no data"),
    (compressed(b"GIF89a...."), "neither JPEG nor PNG"),
    (compressed(b"\xff\xd8\xff\xe0" + b"\x00" * 100), "corrupt JPEG: segment 0xE0 .* length 0"),
    (compressed(b"\xff\xd8\xff\xe0\x40\x00" + b"\x00" * 100), "truncated JPEG: segment 0xE0"),
    (compressed(b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9"), "corrupt JPEG"),
    (compressed(b"\xff\xd8" + b"\x00" * 100 + b"\xff\xd9"), "corrupt JPEG: no frame header"),
    (compressed(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30), "corrupt PNG"),
    (compressed(b"\x00\x00\x00\x00", "16UC1; compressedDepth png"), "compressed depth"),
])
def test_bad_frames_raise_specific_errors(msg, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode(msg)


def test_huge_frames_are_refused_before_decoding():
    msg = T[IMAGE](header=header(), height=50_000, width=50_000, encoding="mono8",
                   is_bigendian=0, step=50_000, data=np.zeros(10, np.uint8))
    with pytest.raises(ImageDecodeError, match="over the limit"):
        decode(msg)


def test_rclpy_and_rosbags_messages_decode_alike():
    """Same message from rclpy or rosbags: same pixels, or the same refusal."""
    pytest.importorskip("sensor_msgs.msg", reason="ROS 2 message wheels not importable here")
    from sensor_msgs.msg import CompressedImage, Image

    def to_ros(msg):
        if hasattr(msg, "encoding"):
            return Image(height=msg.height, width=msg.width, encoding=msg.encoding,
                         is_bigendian=msg.is_bigendian, step=msg.step, data=msg.data.tobytes())
        return CompressedImage(format=msg.format, data=msg.data.tobytes())

    ok, jpeg = cv2.imencode(".jpg", RGB)
    messages = [image(p, e, pad=3) for e, p, _ in CASES] + [
        compressed(jpeg.tobytes()), compressed(jpeg.tobytes()[:-50]), compressed(b"xx"),
        image(RGB, "rgb16"), image(RGB[..., 0].astype("<u2"), "16UC1")]
    for msg in messages:
        try:
            want = decode(to_ros(msg))
        except ImageDecodeError:
            with pytest.raises(ImageDecodeError):
                decode(msg)
            continue
        np.testing.assert_array_equal(decode(msg), want)


# -- hostile compressed frames (real files made from the sample stills) -------------------------

@pytest.mark.parametrize("width,height", [(30000, 30000), (60000, 60000)])
def test_jpeg_bomb_behind_a_64k_comment_is_refused_before_decoding(width, height):
    bomb = attacks.jpeg_bomb(width, height)
    assert bomb.index(b"\xff\xc0") > 65536 and len(bomb) < 70000
    with pytest.raises(ImageDecodeError, match=f"JPEG header declares {width}x{height} = "
                       f"{width * height} pixels, over the limit of 1000000"):
        decode(compressed(bomb), max_pixels=1_000_000)


def test_opencv_assertions_become_decode_errors():
    """With the node's cap lifted, OpenCV's own pixel limit raises: a clear error, no cv2.error."""
    with pytest.raises(ImageDecodeError, match="OpenCV refused this JPEG"):
        decode(compressed(attacks.jpeg_bomb(60000, 60000)), max_pixels=10**11)


def test_sixteen_bit_rgba_png_bomb_is_refused_by_its_decoded_bytes():
    bomb = attacks.png_bomb(5700, 5700)
    assert len(bomb) < 300_000
    assert 5700 * 5700 < 33_177_600       # under the default pixel cap: the bytes decide
    with pytest.raises(ImageDecodeError, match="PNG 5700x5700 with 4 channel.s. of 16 bits "
                       f"decodes to {5700 * 5700 * 8} bytes, over the limit of {33_177_600 * 4}"):
        decode(compressed(bomb, "png"))


def test_png_within_the_byte_budget_decodes():
    flat = np.full((40, 30, 4), 40000, np.uint16)
    ok, data = cv2.imencode(".png", flat)
    out = decode(compressed(data.tobytes(), "png"), max_pixels=40 * 30 * 2)   # 8 <= 2 x 4
    assert out.shape == (40, 30, 3) and (out == 40000 >> 8).all()


@pytest.mark.parametrize("layout", attacks.JPEG_LAYOUTS)
def test_jpeg_with_trailing_bytes_decodes_like_the_jpeg(layout):
    jpeg = attacks.encode_jpeg(attacks.still(), **attacks.JPEG_LAYOUTS[layout])
    want = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR),
                        cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(decode(compressed(jpeg)), want)
    np.testing.assert_array_equal(decode(compressed(attacks.with_trailing_bytes(jpeg))), want)


@pytest.mark.parametrize("name", ["messi5.jpg", "basketball1.png", "basketball2.png"])
@pytest.mark.parametrize("layout", attacks.JPEG_LAYOUTS)
@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8, 0.95])
def test_cut_jpeg_closed_with_an_end_marker_is_refused(name, layout, fraction):
    jpeg = attacks.encode_jpeg(attacks.still(name), **attacks.JPEG_LAYOUTS[layout])
    cut = attacks.truncated(jpeg, fraction)
    if layout == "progressive" and fraction >= 0.8:
        # Documented gap: the cut falls in the last (luma refinement) scan.
        assert decode(compressed(cut)).shape == decode(compressed(jpeg)).shape
        return
    with pytest.raises(ImageDecodeError, match="truncated JPEG"):
        decode(compressed(cut))
    with pytest.raises(ImageDecodeError, match="truncated JPEG: .*(no end|the data)"):
        decode(compressed(attacks.truncated(jpeg, fraction, close=False)))


@pytest.mark.parametrize("bgr", [np.zeros((48, 64, 3), np.uint8),
                                 np.full((48, 64, 3), (30, 90, 160), np.uint8),
                                 np.full((50, 70, 3), 255, np.uint8)],
                         ids=["black", "flat-colour", "white-odd-size"])
@pytest.mark.parametrize("layout", attacks.JPEG_LAYOUTS)
def test_flat_frames_are_not_mistaken_for_cut_ones(bgr, layout):
    """A lens cap or a flat test card: every MCU is flat and coded; accepted."""
    frame = bgr.copy()
    frame[:8, :8] = (10, 200, 10)          # one detail so the first MCU is not flat
    jpeg = attacks.encode_jpeg(frame, **attacks.JPEG_LAYOUTS[layout])
    assert decode(compressed(jpeg)).shape == frame.shape
    if layout in ("baseline", "optimized") and bgr.max() not in (0, 255):
        with pytest.raises(ImageDecodeError, match="truncated JPEG"):
            decode(compressed(attacks.truncated(jpeg, 0.5)))


def test_cut_flat_jpeg_with_bottom_detail_is_refused():
    """The flat-tail test also guards images whose real content ends in a flat region."""
    img = attacks.still()
    img[200:] = (40, 120, 200)
    jpeg = attacks.encode_jpeg(img)
    assert decode(compressed(jpeg)).shape == img.shape
    with pytest.raises(ImageDecodeError, match="truncated JPEG"):
        decode(compressed(attacks.truncated(jpeg, 0.4)))


def test_anything_else_is_refused_clearly():
    ok, webp = cv2.imencode(".webp", attacks.still())
    with pytest.raises(ImageDecodeError, match="neither JPEG nor PNG: starts with 52494646"):
        decode(compressed(webp.tobytes(), "webp"))
