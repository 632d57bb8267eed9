"""Classical source coders of the baselines at a byte budget: JPEG (Pillow) and HEVC intra.

BPG is HEVC intra; its container is not available here, so HEVC runs through libheif/x265
(pillow-heif) at 4:4:4 and is charged only for the HEVC bitstream: the parameter sets
(VPS/SPS/PPS, from the 'hvcC' box, each with a 2-byte length) and the coded slice data (the
'mdat' box), not the HEIF boxes around them. Each coder picks the highest quality whose
charged size fits.

``SourceCoder`` memoises sizes per quality (the search probes the same qualities for many
budgets) and keeps the chosen bitstreams in a cache folder when given one, so that a
resumed evaluation does not encode again.
"""

import io
import os
import struct

import numpy as np
from PIL import Image

QUALITIES = range(0, 101)


def _boxes(data, start, end):
    """(type, payload start, box end) of the ISO-BMFF boxes in data[start:end]."""
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            raise ValueError(f"malformed HEIF box {kind!r} at byte {i}")
        yield kind.decode("latin-1"), i + header, i + size
        i += size


def _find(data, path, start=0, end=None):
    """Payload (start, end) of the box at ``path`` (e.g. ['meta', 'iprp', 'ipco', 'hvcC'])."""
    end = len(data) if end is None else end
    for kind, payload, stop in _boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return payload, stop
            # 'meta' is a full box: 4 bytes of version and flags before its children.
            return _find(data, path[1:], payload + (4 if kind == "meta" else 0), stop)
    raise ValueError(f"HEIF file has no {'/'.join(path)} box")


def hevc_bitstream(heif):
    """The HEVC bitstream inside a HEIF file: parameter-set NAL units, then slice data.

    This is what the link carries for the BPG baseline; a receiver wraps it back into the
    fixed HEIF boxes of the agreed image size before decoding.
    """
    start, end = _find(heif, ["meta", "iprp", "ipco", "hvcC"])
    pos = start + 22  # fixed part of HEVCDecoderConfigurationRecord
    arrays = heif[pos]
    pos += 1
    units = []
    for _ in range(arrays):
        count = struct.unpack(">H", heif[pos + 1:pos + 3])[0]
        pos += 3
        for _ in range(count):
            length = struct.unpack(">H", heif[pos:pos + 2])[0]
            units.append(heif[pos:pos + 2 + length])
            pos += 2 + length
    if pos > end:
        raise ValueError("malformed hvcC box")
    start, end = _find(heif, ["mdat"])
    return b"".join(units) + heif[start:end]


def _pil(image):
    """uint8 PIL image of a float [H, W, 3] array in [0, 1] or a uint8 array."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(array, "RGB")


class JpegCoder:
    name = "jpeg"
    qualities = range(1, 101)

    def encode(self, image, quality):
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=int(quality), optimize=True)
        data = out.getvalue()
        return data, len(data)

    def payload(self, data):
        """What the link carries: the whole JPEG file."""
        return data

    def decode(self, data):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class HevcCoder:
    name = "hevc"
    qualities = range(0, 101)

    def __init__(self):
        try:
            import pillow_heif
        except ImportError as err:
            raise RuntimeError("the BPG baseline needs pillow-heif (pip install "
                               "pillow-heif==1.8.1)") from err
        self._heif = pillow_heif

    def encode(self, image, quality):
        out = io.BytesIO()
        self._heif.from_pillow(image).save(out, quality=int(quality), chroma=444)
        data = out.getvalue()
        return data, len(hevc_bitstream(data))

    def payload(self, data):
        """What the link carries: the HEVC bitstream, without the HEIF boxes."""
        return hevc_bitstream(data)

    def decode(self, data):
        return np.asarray(self._heif.open_heif(io.BytesIO(data)).to_pillow().convert("RGB"))


class SourceCoder:
    """Highest-quality encoding of one image under byte budgets, with memoised sizes."""

    def __init__(self, coder, image, key, cache_dir=None):
        self.coder = coder
        self.image = _pil(image)
        self.key = key
        self.cache_dir = cache_dir
        self.sizes = {}
        self._index = os.path.join(cache_dir, f"{coder.name}_{key}.sizes") if cache_dir else None
        if self._index and os.path.exists(self._index):
            with open(self._index) as f:
                for line in f:
                    q, size = line.split()
                    self.sizes[int(q)] = int(size)

    def _path(self, quality):
        return os.path.join(self.cache_dir, f"{self.coder.name}_{self.key}_q{quality}.bin")

    def size(self, quality):
        if quality not in self.sizes:
            data, size = self.coder.encode(self.image, quality)
            self.sizes[quality] = size
            if self.cache_dir:
                os.makedirs(self.cache_dir, exist_ok=True)
                with open(self._path(quality), "wb") as f:
                    f.write(data)
                with open(self._index, "a") as f:
                    f.write(f"{quality} {size}\n")
        return self.sizes[quality]

    def best_quality(self, budget):
        """The highest quality whose charged size is at most ``budget`` bytes (None: none)."""
        qualities = list(self.coder.qualities)
        if self.size(qualities[0]) > budget:
            return None
        lo, hi = 0, len(qualities) - 1   # sizes rise with quality: binary search
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.size(qualities[mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return qualities[lo]

    def bitstream(self, quality):
        """The encoded file at ``quality`` (from the cache when there)."""
        if self.cache_dir and os.path.exists(self._path(quality)):
            with open(self._path(quality), "rb") as f:
                return f.read()
        data, size = self.coder.encode(self.image, quality)
        self.sizes[quality] = size
        return data

    def payload(self, quality):
        """The bytes the link carries at ``quality``."""
        return self.coder.payload(self.bitstream(quality))

    def reconstruction(self, quality):
        """Decoded uint8 [H, W, 3] image at ``quality``."""
        return self.coder.decode(self.bitstream(quality))
