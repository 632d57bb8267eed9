"""Malformed inputs for the robustness tests: broken image files and hostile weight files.

Seeded and small, so the codec's tests and the GNU Radio blocks' fuzz tests feed the
same corpus. Hostile weight files try to create ``sentinel`` when they are unpickled;
a loader that lets anything run leaves that file behind.
"""

import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np
import torch
from PIL import Image


def png_bytes(array):
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(array, quality=90):
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def png_claiming(width, height):
    """A valid-looking 60-byte PNG whose header claims width x height (a decompression
    bomb's calling card: the pixels are never there)."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def jpeg_claiming(width, height, rng):
    """A small real JPEG whose frame header (SOF0) is rewritten to claim width x height."""
    data = bytearray(jpeg_bytes(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_bomb(side=12000):
    """A real, fully decodable PNG of side x side black pixels: about 18 KB on disk."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _unreadable(data):
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception:
        return True
    return False


def malformed_image_files(folder, count=100, seed=0):
    """``count`` paths in ``folder`` that are not readable images, of every kind a file
    list or a folder can hold: empty, text, truncated and bit-flipped PNG / JPEG, random
    bytes behind a PNG signature, headers claiming absurd sizes, a real 12000 x 12000
    bomb, a directory, a FIFO, a dangling symlink and a missing path."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    photo = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    png, jpeg = png_bytes(photo), jpeg_bytes(photo)
    fixed = [("empty.png", b""), ("text.png", b"this is not an image\n"),
             ("bomb_png_30000.png", png_claiming(30000, 30000)),
             ("bomb_jpeg_9000.jpg", jpeg_claiming(9000, 9000, rng)),
             ("bomb_real_12000.png", png_bomb())]
    paths = []
    for name, data in fixed:
        paths.append(os.path.join(folder, name))
        with open(paths[-1], "wb") as f:
            f.write(data)
    special = {"directory.png": lambda p: os.mkdir(p),
               "fifo.png": lambda p: os.mkfifo(p),
               "dangling.png": lambda p: os.symlink(os.path.join(folder, "nowhere"), p),
               "missing.png": lambda p: None}
    for name, make in special.items():
        paths.append(os.path.join(folder, name))
        make(paths[-1])
    kinds = ("truncated_png", "truncated_jpeg", "flipped_png", "noise_png")
    i = 0
    while len(paths) < count:
        kind = kinds[i % len(kinds)]
        i += 1
        if kind == "truncated_png":
            data = png[:int(rng.integers(8, len(png) - 16))]
        elif kind == "truncated_jpeg":
            data = jpeg[:int(rng.integers(2, len(jpeg) - 64))]
        elif kind == "flipped_png":
            data = bytearray(png)
            for pos in rng.integers(8, len(png), 8):
                data[pos] ^= 1 << int(rng.integers(8))
            data = bytes(data)
        else:
            data = png[:8] + rng.integers(0, 256, int(rng.integers(1, 4096)),
                                          dtype=np.uint8).tobytes()
        if not _unreadable(data):  # a mutation that still decodes is not malformed
            continue
        paths.append(os.path.join(folder, f"{kind}_{i:03d}.png"))
        with open(paths[-1], "wb") as f:
            f.write(data)
    return paths[:count]


class _Exploit:
    """Unpickling this runs ``os.system(command)``: what a hostile weight file does."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _torch_zip_with_pickle(pickled):
    """A torch zip checkpoint whose data.pkl is replaced by ``pickled``."""
    original = io.BytesIO()
    torch.save({"config": {}}, original)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("/data.pkl"):
                data = pickled
            dst.writestr(item, data)
    return out.getvalue()


def hostile_weight_files(folder, valid_weights, sentinel):
    """{name: path} of weight files that every loader must refuse with a clear error:
    exploits (legacy pickle and torch zip), junk, and well-formed files whose content
    is wrong (configuration, state dict, NaN weights, permutations)."""
    os.makedirs(folder, exist_ok=True)
    exploit = pickle.dumps(_Exploit(f"touch {sentinel}"), protocol=2)
    base = torch.load(valid_weights, map_location="cpu", weights_only=True)
    state = base["state_dict"]
    first = next(iter(state))
    files = {"exploit_legacy_pickle": exploit,
             "exploit_torch_zip": _torch_zip_with_pickle(exploit),
             "empty": b"", "random_bytes": np.random.default_rng(1).integers(
                 0, 256, 4096, dtype=np.uint8).tobytes()}
    with open(valid_weights, "rb") as f:
        valid = f.read()
    files["truncated"] = valid[:len(valid) // 2]
    variants = {
        "config_int": {**base, "config": 5},
        "config_str": {**base, "config": "small"},
        "config_unknown_field": {**base, "config": {**base["config"], "colour": 1}},
        "config_huge": {**base, "config": {**base["config"], "body_channels": 10 ** 9}},
        # within every field's range, but 38 GB of weights: refused before allocation
        "config_big_in_range": {**base, "config": {**base["config"], "body_channels": 1024,
                                                   "body_blocks": 512}},
        "config_bool_as_int": {**base, "config": {**base["config"], "levels": True}},
        "no_state_dict": {"config": base["config"]},
        "state_dict_list": {**base, "state_dict": [1, 2]},
        "state_dict_missing_key": {**base, "state_dict": dict(list(state.items())[1:])},
        "state_dict_extra_key": {**base, "state_dict": {**state, "bogus": torch.zeros(1)}},
        "state_dict_wrong_shape": {**base, "state_dict": {**state,
                                                          first: torch.zeros(3, 1)}},
        "state_dict_nan": {**base, "state_dict": {
            k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
            for k, v in state.items()}},
        "has_nrb_str": {**base, "has_nrb": "yes"},
        "permutations_bad": {**base, "extra": {"reorder_permutations": [[[0, 0, 1]]]}},
        "a_list": [1, 2, 3],
    }
    paths = {}
    for name, data in files.items():
        paths[name] = os.path.join(folder, f"{name}.pt")
        with open(paths[name], "wb") as f:
            f.write(data)
    for name, payload in variants.items():
        paths[name] = os.path.join(folder, f"{name}.pt")
        torch.save(payload, paths[name])
    paths["directory"] = os.path.join(folder, "directory.pt")
    os.makedirs(paths["directory"], exist_ok=True)
    return paths
