"""Image loading for every input a user may hand us, padding and PSNR."""

import numpy as np
import pytest
from PIL import Image

from semcom_codec import images
from semcom_codec.metrics.psnr import psnr


def test_default_image_ships_with_matplotlib():
    img = images.load_image(images.default_image_path())
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16", "P"])
def test_modes_load_as_rgb(tmp_path, mode):
    rng = np.random.default_rng(0)
    if mode == "I;16":
        arr = rng.integers(0, 65536, (10, 13), dtype=np.uint16)
        Image.fromarray(arr).save(tmp_path / "x.png")
        want = np.repeat((arr / 65535.0)[..., None], 3, axis=2)
    else:
        rgb = rng.integers(0, 256, (10, 13, 3), dtype=np.uint8)
        src = Image.fromarray(rgb)
        if mode == "RGBA":
            alpha = np.full((10, 13), 255, np.uint8)
            alpha[0, 0] = 0  # fully transparent pixel composites to white
            src = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
        elif mode != "RGB":
            src = src.convert(mode)
        src.save(tmp_path / "x.png")
        want = np.asarray(src.convert("RGB"), dtype=np.float32) / 255.0
        if mode == "RGBA":
            want[0, 0] = 1.0
    got = images.load_image(tmp_path / "x.png")
    assert got.shape == (10, 13, 3)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        images.load_image(tmp_path / "nope.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="bad.png is not a readable image"):
        images.load_image(bad)


def test_pad_to_multiple_reflects_and_keeps_size():
    img = np.arange(5 * 11 * 3, dtype=np.float32).reshape(5, 11, 3)
    padded, size = images.pad_to_multiple(img, 8)
    assert padded.shape == (8, 16, 3) and size == (5, 11)
    np.testing.assert_array_equal(padded[:5, :11], img)
    np.testing.assert_array_equal(padded[5, :11], img[3])  # reflect about the last row
    same, _ = images.pad_to_multiple(np.zeros((16, 8, 3)), 8)
    assert same.shape == (16, 8, 3)


def test_psnr_reference_values():
    a = np.zeros((4, 4, 3), np.float32)
    assert psnr(a, a) == float("inf")
    b = a.copy()
    b[0, 0, 0] = 1.0  # one 8-bit value off by 255 in 48 samples: MSE = 255^2/48
    assert psnr(a, b) == pytest.approx(10 * np.log10(48))
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, np.zeros((4, 5, 3)))
