"""torchrun / DistributedDataParallel support: one process per GPU (or CPU with gloo).

Everything here is a no-op in a single process, so training code calls it unconditionally.
"""

import os

import torch
import torch.distributed as dist

from ..runtime import resolve_device


def is_distributed():
    return dist.is_available() and dist.is_initialized()


def rank():
    return dist.get_rank() if is_distributed() else 0


def world_size():
    return dist.get_world_size() if is_distributed() else 1


def setup(device_name):
    """Joins the process group when started by torchrun (WORLD_SIZE > 1); returns the
    device of this process (cuda:LOCAL_RANK with NCCL, else the asked-for device/gloo)."""

    device = resolve_device(device_name)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or is_distributed():
        return device
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        return torch.device("cuda", local)
    dist.init_process_group("gloo")
    return device


def cleanup():
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()


def all_reduce_(tensor):
    """Sum over processes, in place."""
    if is_distributed():
        dist.all_reduce(tensor)
    return tensor


def broadcast_(tensor, src=0):
    """Overwrite with process ``src``'s value, in place."""
    if is_distributed():
        dist.broadcast(tensor, src)
    return tensor


def barrier():
    if is_distributed():
        dist.barrier()


def assert_in_sync(module):
    """Raises if the processes' copies of ``module`` (parameters and buffers) differ:
    a cheap guard that gradient averaging and codebook statistics stayed shared."""
    if not is_distributed():
        return
    total = torch.zeros(1, dtype=torch.float64)
    for tensor in list(module.parameters()) + list(module.buffers()):
        total += tensor.detach().double().abs().sum().cpu()
    gathered = [torch.zeros_like(total) for _ in range(world_size())]
    dist.all_gather(gathered, total)
    values = [float(g) for g in gathered]
    if max(values) - min(values) > 1e-6 * max(1.0, abs(values[0])):
        raise RuntimeError(f"processes hold different models after training: {values}")
