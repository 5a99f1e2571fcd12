"""Bad and unusual image files: converted or refused with a clear message."""
import cv2
import numpy as np
from posenet_ros.core.errors import ImageError
from posenet_ros.imaging.files import read_image
import pytest


def _write(tmp_path, name, image):
    path = tmp_path / name
    assert cv2.imwrite(str(path), image)
    return path


def test_grayscale_rgba_and_16_bit_become_rgb8(tmp_path):
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    assert (read_image(_write(tmp_path, "g.png", gray))[..., 0] == gray).all()
    bgra = np.zeros((6, 8, 4), np.uint8)
    bgra[..., 2] = 200                                   # red in BGRA
    assert read_image(_write(tmp_path, "a.png", bgra))[0, 0].tolist() == [200, 0, 0]
    deep = np.full((6, 8), 0xAB00, np.uint16)
    rgb = read_image(_write(tmp_path, "d.png", deep))
    assert rgb.dtype == np.uint8 and rgb[0, 0].tolist() == [0xAB] * 3


@pytest.mark.parametrize("content,reason",
                         [(b"", "empty"), (b"not an image", "unsupported image format")])
def test_unreadable_files_are_refused(tmp_path, content, reason):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        read_image(path)


def test_truncated_jpeg_is_refused(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", image)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data.tobytes()[:40])                # header only
    with pytest.raises(ImageError):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.png")
