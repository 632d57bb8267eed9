"""MOC-RVQ's codebook reordering seen from the evaluation: the stage-1 labels of the
indices and codebooks, for the "without reordering" ablation."""

import copy

import torch

from ..checkpoints import read_weight_file
from ..errors import BadWeightFile, one_line


def unreordered_indices(indices, permutations):
    """Indices of the same code vectors before reordering (the stage-1 labels)."""
    old_of_new = torch.argsort(permutations, dim=-1)           # [D, P, N]
    out = torch.empty_like(indices)
    for d in range(indices.shape[1]):
        for p in range(indices.shape[2]):
            out[:, d, p] = old_of_new[d, p][indices[:, d, p].long()].to(indices.dtype)
    return out


def reorder_permutations(weights, codec=None):
    """The codebook reordering stored in a stage-2 weight file ([D, P, N]), or None;
    BadWeightFile when it is not one permutation per head and level of ``codec``."""
    extra = read_weight_file(weights).get("extra", {})
    perms = extra.get("reorder_permutations") if isinstance(extra, dict) else None
    if perms is None:
        return None
    try:
        perms = torch.as_tensor(perms, dtype=torch.long)
    except (TypeError, ValueError, RuntimeError) as err:
        raise BadWeightFile(f"{weights}: reorder_permutations is not an integer array "
                            f"({one_line(err)})") from None
    shape = tuple(perms.shape)
    if codec is not None:
        shape = (codec.cfg.levels, codec.cfg.heads, codec.cfg.entries)
    if (perms.ndim != 3 or tuple(perms.shape) != shape
            or not torch.equal(perms.sort(dim=-1).values,
                               torch.arange(shape[-1]).expand(shape))):
        raise BadWeightFile(f"{weights}: reorder_permutations must hold a permutation of "
                            f"0..N-1 for every level and head (shape {shape})")
    return perms


def relabelled_codec_view(codec, permutations):
    """A copy of ``codec`` whose codebooks carry the stage-1 (unreordered) labels."""
    view = copy.deepcopy(codec)  # a shallow copy would share (and change) the submodules
    cb = codec.quantizer.codebooks
    for d in range(cb.shape[0]):
        for p in range(cb.shape[1]):
            # stage-1 entry `old` is stored at reordered index permutations[d, p, old]
            view.quantizer.codebooks[d, p] = cb[d, p][permutations[d, p]]
    return view
