"""Reading torch weight files that may be damaged, foreign or hostile.

Every loader in the package goes through here: torch.load with weights_only (a pickle
that names any other global is refused and nothing in it runs), then checks that turn
what torch would say in a long traceback into one line naming the file and the fault.
"""

import hashlib
import os

import torch

from .errors import BadWeightFile


def read_weight_file(path, device="cpu", what="codec weight file"):
    """The dict stored in a torch weight file, loaded with weights_only (a hostile pickle
    is refused, nothing in it runs); BadWeightFile naming the file otherwise."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        state = "is not a regular file" if os.path.lexists(path) else "not found"
        raise FileNotFoundError(f"{what} {state}: {path}")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises several types for truncated / foreign files
        raise BadWeightFile(f"{path} is not a gr-semcom {what}: {_load_failure(err)}") from None
    if not isinstance(payload, dict):
        raise BadWeightFile(f"{path} is not a gr-semcom {what}: it holds a "
                            f"{type(payload).__name__}, not a dict")
    return payload


def _load_failure(err):
    """The telling line of torch.load's (long) message."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if lines and lines[0].startswith("Weights only load failed"):
        reason = next((line for line in lines[1:] if "global" in line.lower()
                       or "unsupported" in line.lower()), "a disallowed object")
        return "refused by the weights_only loader (" + reason.rstrip(".") + "); nothing in it ran"
    return "damaged, truncated or not a torch file (" + (lines[0] if lines else
                                                         type(err).__name__) + ")"


def check_state_dict(state, path):
    """A dict of finite tensors with string keys, or BadWeightFile."""
    if not isinstance(state, dict):
        raise BadWeightFile(f"{path}: state_dict is a {type(state).__name__}, not a dict")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise BadWeightFile(f"{path}: state_dict entry {key!r} is not a named tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise BadWeightFile(f"{path}: state_dict entry {key} holds NaN or infinite "
                                "values")


def load_state_into(module, state, path):
    """module.load_state_dict(state) with one line naming the file and what does not fit."""
    check_fits(module, state, path)
    module.load_state_dict(state)


def check_fits(module, state, path):
    """BadWeightFile naming the file unless ``state`` has exactly the names and shapes
    of module's state dict (``module`` may live on the meta device: nothing allocated)."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} instead of {tuple(v.shape)}"
              for k, v in own.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        parts = [f"{len(found)} {name} (first: {found[0]})" for name, found in
                 (("missing", missing), ("unexpected", unexpected),
                  ("of another shape", shapes)) if found]
        raise BadWeightFile(f"{path}: the weights do not fit their configuration: "
                            + "; ".join(parts))


def file_sha256(path):
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_from_weights(payload, path, config_from_dict, build, device="cpu"):
    """The eval-mode model of a weight file's dict (``path`` named in errors): its
    configuration through ``config_from_dict``, its state dict checked for shape on a
    meta-device skeleton of ``build(cfg)`` before anything is allocated."""
    if "config" not in payload or "state_dict" not in payload:
        raise BadWeightFile(f"{path} is not a gr-semcom codec weight file (no config/state_dict)")
    try:
        cfg = config_from_dict(payload["config"])
    except (TypeError, ValueError) as err:
        raise BadWeightFile(f"{path}: {err}") from None
    state = payload["state_dict"]
    check_state_dict(state, path)
    with torch.device("meta"):
        check_fits(build(cfg), state, path)
    model = build(cfg)
    model.load_state_dict(state)
    return model.to(device).eval()
