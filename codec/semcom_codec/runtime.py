"""Which torch device a command or block runs on ("auto": a CUDA GPU when there is one)."""

import torch


def resolve_device(name):
    """torch.device for "auto", "cpu", "cuda" or "cuda:N"; RuntimeError naming the problem
    when the device asked for is not there."""
    name = str(name or "auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} was asked for, but no CUDA GPU is available")
        index = torch.device(name).index
        if index is not None and index >= torch.cuda.device_count():
            raise RuntimeError(f"device {name!r} was asked for, but only "
                               f"{torch.cuda.device_count()} CUDA GPU(s) are available")
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise RuntimeError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N") from err
