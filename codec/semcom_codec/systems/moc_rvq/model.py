"""The MOC-RVQ codec as the radio blocks use it: images in, uint8 indices out, and back.

Indices are uint8 [B, L, P, h, w] (level, head, row, column), the level-major order in
which they go on the air. The receiver side takes hard indices or per-index posteriors
[B, L, P, h, w, N], optionally refines the latent with the noise-reduction block (NRB)
and requantizes it, then decodes.
"""

import os

import numpy as np
import torch
from torch import nn

from ...checkpoints import check_fits, check_state_dict, read_weight_file
from ...errors import BadWeightFile
from ...layers import padding
from ...phy.constellation import hard_decision_posteriors
from ...phy.modes import ENTRIES, mode_named, qam64_mode
from ...quantizers.moc_rvq import MOCRVQ
from .autoencoder import Decoder, Encoder
from .config import CodecConfig

FACTOR = 8  # f: pixels per latent position along each side


def pad_to_factor(images):
    """Reflect-pads [B, 3, H, W] to multiples of 8; returns (padded, (H, W))."""
    return padding.pad_to_factor(images, FACTOR)


class SemanticCodec(nn.Module):
    """Encoder E, MOC-RVQ quantizer, optional NRB and decoder G of one configuration."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = MOCRVQ(cfg.n_q, heads=cfg.heads, entries=cfg.entries,
                                levels=cfg.levels, ema=True)
        self.decoder = Decoder(cfg)
        self.nrb = None  # attached by stage 2 (semcom_codec.systems.moc_rvq.nrb)

    @property
    def device(self):
        return next(self.parameters()).device

    # -- transmitter -------------------------------------------------------------------

    @torch.no_grad()
    def encode(self, images, levels=None):
        """Images [B, 3, H, W] in 0..1 (any H, W) -> indices uint8 [B, L, P, h, w]."""
        images = self._check_images(images)
        padded, _ = pad_to_factor(images.to(self.device, torch.float32))
        z = self.encoder(padded)
        indices, _ = self.quantizer.quantize(z, levels or self.cfg.levels)
        return indices

    # -- receiver ----------------------------------------------------------------------

    @torch.no_grad()
    def received_latent(self, received, noise_reduction=True, requantize=True, esn0_db=None,
                        mode=None):
        """z for the decoder from hard indices [B, L, P, h, w] or posteriors [..., N].

        ``esn0_db`` (float, or [B]; None: unknown) tells an SNR-aware NRB the channel's
        Es/N0; ``mode`` (phy.modes.Mode or its name; None: every level on 64-QAM) is the
        index constellation of each level, for the MMSE code vectors of hard decisions
        and a mode-aware NRB."""
        mode = self.check_mode(mode, received.shape[1])
        z = self.dequantize_received(received, esn0_db, mode)
        levels = received.shape[1]
        if noise_reduction and self.nrb is not None:
            z = self.nrb(z, levels, esn0_db, mode) if self.nrb.mode_input else \
                self.nrb(z, levels, esn0_db)
            if requantize:
                _, z = self.quantizer.quantize(z, levels)
        return z

    def check_mode(self, mode, levels):
        """The Mode of ``mode`` (a Mode, a name, or None: all on 64-QAM) for ``levels``
        received levels, or ValueError."""
        if mode is None:
            return None
        mode = mode_named(mode)
        if mode.levels != levels:
            raise ValueError(f"mode {mode.name} sends {mode.levels} levels, received {levels}")
        if self.cfg.entries != ENTRIES:
            raise ValueError(f"transmission modes carry {ENTRIES}-entry codebooks, "
                             f"this codec has {self.cfg.entries}")
        return mode

    def decision_posteriors(self, esn0_db=None, mode=None):
        """p(sent | decided) this receiver assumes for hard decisions at ``esn0_db``:
        [N, N] float32 for a float or None, [B, N, N] for one Es/N0 per image; with a
        ``mode``, one table per level: [L, N, N] or [B, L, N, N]. The identity (the
        decided vector) without ``mmse_hard_decisions`` or where the Es/N0 is unknown
        (None or NaN)."""
        n = self.cfg.entries
        snr = torch.as_tensor(float("nan") if esn0_db is None else esn0_db,
                              dtype=torch.float64).cpu()
        if not self.cfg.mmse_hard_decisions:
            snr = torch.full_like(snr, float("nan"))
        unknown = torch.isnan(snr)
        known = torch.nan_to_num(snr, nan=0.0)
        if mode is None:
            tables = hard_decision_posteriors(known, n)
        else:
            tables = mode_named(mode).decision_posteriors(known)
            unknown = unknown[..., None].expand(tables.shape[:-2])
        tables[unknown] = torch.eye(n, dtype=tables.dtype)
        return tables.float()

    @torch.no_grad()
    def dequantize_received(self, received, esn0_db=None, mode=None):
        """z from hard indices [B, L, P, h, w] or posteriors [..., N], before any NRB;
        hard indices through ``decision_posteriors`` (float or [B] ``esn0_db``; each
        level's constellation from ``mode``, None: 64-QAM)."""
        received = received.to(self.device)
        if received.ndim == 6:
            return self.quantizer.dequantize_soft(received)
        if not self.cfg.mmse_hard_decisions or esn0_db is None:
            return self.quantizer.dequantize(received)  # the decided vectors, no lookup
        self.quantizer.check_indices(received)
        b, levels = received.shape[:2]
        snr = torch.as_tensor(esn0_db, dtype=torch.float64).reshape(-1)
        if snr.numel() not in (1, b):
            raise ValueError(f"esn0_db has {snr.numel()} values for a batch of {b}")
        mode = self.check_mode(mode, levels) or qam64_mode(levels)
        tables = self.decision_posteriors(snr.expand(b), mode)            # [B, L, N, N]
        tables = tables.to(device=self.device, dtype=self.quantizer.codebooks.dtype)
        rows = torch.arange(b, device=self.device).view(b, 1, 1, 1, 1)
        level = torch.arange(levels, device=self.device).view(1, levels, 1, 1, 1)
        return self.quantizer.dequantize_soft(tables[rows, level, received.long()])

    @torch.no_grad()
    def decode(self, received, size=None, noise_reduction=True, requantize=True, esn0_db=None,
               mode=None):
        """Hard indices or posteriors -> images [B, 3, H, W] in 0..1, cropped to ``size``."""
        z = self.received_latent(received, noise_reduction, requantize, esn0_db, mode)
        images = self.decoder(z).clamp(0.0, 1.0)
        if size is not None:
            images = images[..., :size[0], :size[1]]
        return images

    # -- numpy convenience for single images -------------------------------------------

    def encode_image(self, image, levels=None):
        """HWC float image in 0..1 -> (indices uint8 numpy [L, P, h, w], (H, W))."""
        tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
        tensor = tensor.permute(2, 0, 1)[None]
        return self.encode(tensor, levels)[0].cpu().numpy(), tuple(image.shape[:2])

    def decode_image(self, received, size, noise_reduction=True, requantize=True,
                     esn0_db=None, mode=None):
        """Indices [L, P, h, w] (or posteriors [L, P, h, w, N]) -> HWC float image."""
        received = torch.as_tensor(np.asarray(received))[None]
        images = self.decode(received, size, noise_reduction, requantize, esn0_db, mode)
        return images[0].permute(1, 2, 0).cpu().numpy()

    # -- checks --------------------------------------------------------------------------

    @staticmethod
    def _check_images(images):
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
            raise ValueError(f"expected images as a tensor [B, 3, H, W], got {shape}")
        if min(images.shape[-2:]) < 1:
            raise ValueError(f"empty image {tuple(images.shape)}")
        return images


# -- weights on disk ---------------------------------------------------------------------

def save_codec(codec, path, extra=None):
    """state_dict + configuration (plain types only, so weights_only loading works)."""
    payload = {"config": codec.cfg.to_dict(), "state_dict": codec.state_dict(),
               "has_nrb": codec.nrb is not None, "extra": extra or {}}
    tmp = f"{path}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_codec(path, device="cpu"):
    """Rebuilds a SemanticCodec from ``save_codec`` output; clear errors for bad files."""
    path = os.fspath(path)
    return codec_from_payload(read_weight_file(path, device), path, device)


def codec_from_payload(payload, path, device="cpu"):
    """A SemanticCodec from the dict of a weight file ``path`` (named in errors)."""
    if "config" not in payload or "state_dict" not in payload:
        raise BadWeightFile(f"{path} is not a gr-semcom codec weight file "
                            "(no config/state_dict)")
    try:
        cfg = CodecConfig.from_dict(payload["config"])
    except ValueError as err:
        raise BadWeightFile(f"{path}: {err}") from None
    has_nrb = payload.get("has_nrb", False)
    if not isinstance(has_nrb, bool):
        raise BadWeightFile(f"{path}: has_nrb must be True or False, got {has_nrb!r}")
    state = payload["state_dict"]
    check_state_dict(state, path)
    with torch.device("meta"):  # shapes first, on a skeleton that allocates nothing
        check_fits(_build(cfg, has_nrb), state, path)
    codec = _build(cfg, has_nrb)
    codec.load_state_dict(state)
    return codec.to(device).eval()


def _build(cfg, has_nrb):
    codec = SemanticCodec(cfg)
    if has_nrb:
        from .nrb import NoiseReductionBlock
        codec.nrb = NoiseReductionBlock(codec.cfg)
    return codec
