"""Image files in and out of the codec: any PNG/JPEG mode to RGB floats, padding, metrics.

Kept apart from the models so that every entry point (examples, GNU Radio blocks, the
evaluation CLI) reads and writes images the same way.
"""

import io
import os
import warnings

import numpy as np
from PIL import Image

from .errors import ImageTooLarge

DEFAULT_IMAGE_NAME = "grace_hopper.jpg"

# The largest image anything in gr-semcom reads, encodes or decodes (a frame header
# claiming more is refused too): 16 megapixels, at most 8192 pixels a side. Decoding
# one of that size takes about 2 GB on the CPU; a 17 KB PNG can claim far more.
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_IMAGE_SIDE = 8192


def check_image_size(height, width, name="image"):
    """Raises ImageTooLarge (or ValueError for an empty image) unless the size is allowed."""
    if height < 1 or width < 1:
        raise ValueError(f"{name} is empty ({width}x{height} pixels)")
    if max(height, width) > MAX_IMAGE_SIDE or height * width > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(
            f"{name} is {width}x{height} pixels, over gr-semcom's limit of "
            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels and {MAX_IMAGE_SIDE} pixels a side")


def default_image_path():
    """A photo that ships inside matplotlib (no download): the demos' default input."""
    try:
        from matplotlib import cbook
    except ImportError as err:
        raise FileNotFoundError(
            "no default image: matplotlib is not installed; pass an image path") from err
    return str(cbook.get_sample_data(DEFAULT_IMAGE_NAME, asfileobj=False))


def load_image(path):
    """RGB float32 array [H, W, 3] in 0..1 from any image file Pillow reads.

    Grayscale is replicated to three channels, alpha is composited on white, 16-bit
    images keep their full precision. Raises FileNotFoundError / ValueError naming the
    file when it is missing or not an image.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):  # also a FIFO (which would block), a dangling link
        what = "is not a regular file" if os.path.lexists(path) else "not found"
        raise FileNotFoundError(f"image file {what}: {path}")
    with open(path, "rb") as f:
        return load_image_bytes(f.read(), path)


def load_image_bytes(data, name="image data"):
    """Like load_image, from the bytes of an encoded image file (PNG, JPEG, ...).

    The size in the file's header is checked against MAX_IMAGE_PIXELS before any pixel
    is decoded, so a decompression bomb costs nothing.
    """
    if not data:
        raise ValueError(f"{name} is not a readable image: it is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                check_image_size(img.height, img.width, name)
                img.load()
                return _to_rgb_float(img)
    except ImageTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageTooLarge(f"{name} is a decompression bomb: {err}") from err
    except MemoryError as err:
        raise ImageTooLarge(f"{name} is too large to decode in memory") from err
    except Exception as err:  # any failure of Pillow's parsers on untrusted bytes
        raise ValueError(f"{name} is not a readable image: {err}") from err


def _to_rgb_float(img):
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(arr / peak, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3:4]
        return rgba[..., :3] * alpha + (1.0 - alpha)
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def pad_to_multiple(image, multiple=8):
    """Reflect-pad [H, W, C] so both sides are multiples of ``multiple``; returns (padded, (H, W))."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image, (h, w)
    mode = "reflect" if h > ph and w > pw else "edge"  # reflect needs a side longer than its pad
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode), (h, w)


def to_uint8(image):
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_png(image, path):
    """Writes an RGB float image [H, W, 3] in 0..1 as 8-bit PNG, creating the folder."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    Image.fromarray(to_uint8(image)).save(path, format="PNG")


def side_by_side(left, right, gap=8):
    """Two images next to each other on white, for sent | received views."""
    h = max(left.shape[0], right.shape[0])
    canvas = np.ones((h, left.shape[1] + gap + right.shape[1], 3), dtype=np.float32)
    canvas[:left.shape[0], :left.shape[1]] = left
    canvas[:right.shape[0], left.shape[1] + gap:] = right
    return canvas
