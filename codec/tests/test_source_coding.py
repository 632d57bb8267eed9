"""JPEG and HEVC (BPG) at a byte budget: highest fitting quality, charged bytes, cache."""

import numpy as np
import pytest

from semcom_codec.baselines import source as sc


def smooth_image(h=64, w=96):
    y, x = np.mgrid[0:h, 0:w] / 32.0
    return np.stack([np.sin(x) * 0.4 + 0.5, np.cos(y) * 0.4 + 0.5, (x + y) / 6.0 % 1.0],
                    -1).astype(np.float32)


@pytest.mark.parametrize("coder", [sc.JpegCoder, sc.HevcCoder])
def test_highest_quality_that_fits(coder, tmp_path):
    source = sc.SourceCoder(coder(), smooth_image(), "img", str(tmp_path))
    top = max(coder.qualities)
    budget = (source.size(min(coder.qualities)) + source.size(top)) // 2
    q = source.best_quality(budget)
    assert q is not None and q < top
    assert source.size(q) <= budget < source.size(q + 1)
    assert len(source.payload(q)) == source.size(q)
    assert source.best_quality(source.size(min(coder.qualities)) - 1) is None
    image = source.reconstruction(q)
    assert image.shape == (64, 96, 3) and image.dtype == np.uint8
    # a second coder on the same cache reuses the sizes without encoding again
    again = sc.SourceCoder(coder(), smooth_image(), "img", str(tmp_path))
    assert again.sizes == source.sizes


def test_hevc_is_charged_without_the_heif_boxes():
    coder = sc.HevcCoder()
    data, size = coder.encode(sc._pil(smooth_image()), 50)
    assert 0 < size < len(data) - 200  # ftyp + meta boxes are a few hundred bytes
    stream = sc.hevc_bitstream(data)
    assert len(stream) == size
    # the slice data (mdat) is carried byte for byte
    assert stream.endswith(data[-(len(data) - data.index(b"mdat") - 4):])
    with pytest.raises(ValueError, match="HEIF"):
        sc.hevc_bitstream(b"\x00\x00\x00\x10ftypheic\x00\x00\x00\x00")


def test_jpeg_is_charged_for_the_whole_file():
    data, size = sc.JpegCoder().encode(sc._pil(smooth_image()), 75)
    assert size == len(data) and data[:2] == b"\xff\xd8"
    decoded = sc.JpegCoder().decode(data)
    assert np.abs(decoded / 255.0 - smooth_image()).mean() < 0.05
