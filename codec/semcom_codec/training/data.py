"""Training and validation images: decoded once into memory, cropped on the fly."""

import glob
import os

import numpy as np
import torch

from ..errors import MetricUndefined
from ..images import load_image


def image_files(folder):
    """Sorted image paths of a folder; a clear error when there are none."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = sorted(f for ext in ("png", "jpg", "jpeg", "bmp")
                   for f in glob.glob(os.path.join(folder, f"*.{ext}")))
    if not files:
        raise FileNotFoundError(f"no PNG/JPEG/BMP images in {folder}")
    return files


def load_test_image(path, size_checks):
    """load_image, then the metrics' size checks (MetricUndefined naming the file)."""
    image = load_image(path)
    for check in size_checks:
        try:
            check(*image.shape[:2])
        except MetricUndefined as err:
            raise MetricUndefined(f"{path}: {err}") from None
    return image


def check_test_images(files, size_checks):
    """Reads every test image once and applies the metrics' size checks, so that a bad
    file stops an evaluation before it starts, with its name in the error."""
    for path in files:
        load_test_image(path, size_checks)


def load_folder_uint8(folder, limit=None):
    """All images of a folder as a list of uint8 tensors [3, H, W] (decoded once)."""
    files = image_files(folder)[:limit]
    return [torch.from_numpy((load_image(f) * 255.0 + 0.5).astype(np.uint8)).permute(2, 0, 1)
            for f in files]


class RandomCrops:
    """Random square crops with horizontal/vertical flips from in-memory uint8 images."""

    def __init__(self, images, size, generator):
        small = [tuple(im.shape[1:]) for im in images if min(im.shape[1:]) < size]
        if small:
            raise ValueError(f"crop size {size} is larger than training image(s) {small[:3]}")
        self.images, self.size, self.generator = images, size, generator

    def _randint(self, high):
        return int(torch.randint(high, (1,), generator=self.generator))

    def sample(self, batch):
        out = torch.empty(batch, 3, self.size, self.size, dtype=torch.uint8)
        for b in range(batch):
            im = self.images[self._randint(len(self.images))]
            y = self._randint(im.shape[1] - self.size + 1)
            x = self._randint(im.shape[2] - self.size + 1)
            crop = im[:, y:y + self.size, x:x + self.size]
            if self._randint(2):
                crop = crop.flip(2)
            if self._randint(2):
                crop = crop.flip(1)
            out[b] = crop
        return out.float() / 255.0
