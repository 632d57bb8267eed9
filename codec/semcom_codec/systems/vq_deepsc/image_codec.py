"""VQ-DeepSC behind the codec interface: a digital payload of coded bits (or uncoded index
bits) as QAM axis indices, two per symbol, on the project's Gray mapper.

The rate knob picks a link configuration (link.CODED_LINKS, or link.UNCODED_LINKS for a
codec loaded with ``uncoded=True``): those whose scales are the ones the weight file's
decoder was trained for. The receiver turns what arrived into bit LLRs (exact, from the
per-index posteriors of soft demapping; from the slicer's error table at the Es/N0 for
hard decisions, 10 dB when N0 is unknown), belief-propagation decodes the LDPC code, and
decodes whatever indices come out: residual errors go to the decoder as they are (a VQ
stream has no syntax to break). Entries that never arrived carry LLR 0.
"""

import math

import numpy as np
import torch

from ...checkpoints import model_from_weights
from ...errors import BadWeightFile
from ...interface import INDICES, ImageCodec, PayloadSpec, check_image, check_received
from ...layers.padding import pad_to_factor
from ...phy.constellation import hard_decision_posteriors
from ...registry import register_system
from .config import VqDeepScConfig
from .link import CODED_LINKS, UNCODED_LINKS, LinkLayout, bits_to_indices, \
    indices_to_bits, posterior_bit_llrs
from .model import VqDeepSc

SYSTEM = "vq_deepsc"
# Share of a payload a truncated frame needs to be decoded at all.
MINIMUM_SHARE = 0.5
# Es/N0 assumed for hard decisions when the receiver gives no N0.
DEFAULT_HARD_ESN0_DB = 10.0


class VqDeepScCodec(ImageCodec):
    """A trained VQ-DeepSC model with its link configurations."""

    system = SYSTEM
    kind = INDICES

    def __init__(self, model, *, identity, source="", uncoded=False, max_iterations=50):
        cfg = model.cfg
        if not cfg.quantize:
            raise BadWeightFile(f"{source}: the unquantized upper bound has no indices to "
                                "send; it is a reference for the noiseless evaluation")
        sent = tuple(s for s in range(cfg.scales, 0, -1) if s not in cfg.decoder_without)
        table = UNCODED_LINKS if uncoded else CODED_LINKS
        self.links = {r: link for r, link in table.items() if link.scales == sent}
        if not self.links:
            raise BadWeightFile(
                f"{source}: no {'uncoded ' if uncoded else ''}link sends scales "
                f"{', '.join(map(str, sent))}, the ones this decoder was trained for")
        super().__init__(name=f"{cfg.name}{'-uncoded' if uncoded else ''}", identity=identity,
                         rates=tuple(self.links), source=source)
        self.model = model
        self.uncoded = uncoded
        self.channel_coded = not uncoded  # an LDPC code fills in what a lost burst took
        self.order = next(iter(self.links.values())).order
        self.max_iterations = max_iterations
        self._layouts = {}
        self.last_converged = None  # codewords that met every check in the last decode

    @property
    def device(self):
        return next(self.model.parameters()).device

    def layout(self, height, width, rate=None):
        """The LinkLayout of an image at ``rate`` (built once per size and rate)."""
        rate = self.check_rate(rate)
        key = (int(height), int(width), rate)
        if key not in self._layouts:
            self._layouts[key] = LinkLayout(self.links[rate], self.model.cfg.entries,
                                            height, width)
        return self._layouts[key]

    def payload(self, height, width, *, rate=None):
        length = self.layout(height, width, rate).length
        return PayloadSpec(INDICES, length, order=self.order,
                           minimum=max(1, math.ceil(MINIMUM_SHARE * length)))

    @torch.no_grad()
    def encode(self, image, *, rate=None):
        x = torch.from_numpy(check_image(image)).permute(2, 0, 1)[None].to(self.device)
        height, width = x.shape[-2:]
        layout = self.layout(height, width, rate)
        maps = [m[0].cpu().numpy() for m in
                self.model.encode_indices(pad_to_factor(x, self.model.cfg.factor)[0])]
        bits = indices_to_bits(maps, self.model.cfg.entries, layout.link.scales)
        return layout.to_indices(bits)

    def bit_llrs(self, received, spec):
        """LLRs of the air bits from what arrived (0 where nothing did)."""
        values = check_received(received, spec)
        posteriors = np.full((spec.length, self.order), 1.0 / self.order)
        if values.ndim == 2:
            posteriors[:len(values)] = values
        elif len(values):
            if values.max() >= self.order:
                raise ValueError(f"index {int(values.max())} out of range 0..{self.order - 1}")
            n0 = received.noise_var
            if n0 is None:
                esn0 = torch.tensor(DEFAULT_HARD_ESN0_DB)
            else:  # per entry: the symbol it rode on (two indices per symbol)
                n0 = np.broadcast_to(np.asarray(n0, dtype=np.float64),
                                     (spec.channel_symbols,) if np.ndim(n0) else ())
                per_entry = n0[np.arange(len(values)) // 2] if n0.ndim else n0
                esn0 = torch.as_tensor(-10.0 * np.log10(np.maximum(per_entry, 1e-30)))
            table = hard_decision_posteriors(esn0, self.order).numpy()
            decided = values.astype(np.int64)
            posteriors[:len(values)] = (table[decided] if table.ndim == 2 else
                                        table[np.arange(len(values)), decided])
        lost = received.lost_entries(2, len(values))
        if lost is not None:
            posteriors[:len(values)][lost] = 1.0 / self.order
        posteriors = np.nan_to_num(posteriors, nan=1.0 / self.order)
        return posterior_bit_llrs(posteriors)

    @torch.no_grad()
    def decode(self, received, *, height, width, rate=None):
        layout = self.layout(height, width, rate)
        spec = self.payload(height, width, rate=rate)
        bits, self.last_converged = layout.to_bits(self.bit_llrs(received, spec),
                                                   self.max_iterations)
        maps = bits_to_indices(bits, self.model.cfg.entries, layout.link.scales, layout.sizes)
        image = self.decode_maps(maps, layout.sizes)
        return image[0, :, :height, :width].clamp(0.0, 1.0).permute(1, 2, 0).cpu().numpy()

    @torch.no_grad()
    def decode_maps(self, maps, sizes):
        """Image [1, 3, H, W] of index maps {scale: uint8 [h, w]}; a scale not given is
        its codebook's mean vector everywhere."""
        codes = []
        for s, (quantizer, (h, w)) in enumerate(zip(self.model.quantizers, sizes), start=1):
            if s in maps:
                idx = torch.from_numpy(maps[s].astype(np.int64)).to(self.device)
                codes.append(quantizer.dequantize(idx[None, None, None].to(torch.uint8)))
            else:
                codes.append(missing_scale(quantizer, h, w))
        return self.model.decoder(codes)


def missing_scale(quantizer, h, w, batch=1):
    """[B, C, h, w] of a scale not sent: its codebook's mean vector."""
    mean = quantizer.codebooks[0, 0].mean(0)
    return mean.view(1, -1, 1, 1).expand(batch, -1, h, w).contiguous()


def model_from_payload(payload, path, device="cpu"):
    """A VqDeepSc model from the dict of a weight file ``path`` (named in errors)."""
    return model_from_weights(payload, path, VqDeepScConfig.from_dict, VqDeepSc, device)


@register_system(SYSTEM)
def load_weights(payload, path, identity, device="cpu", *, noise_reduction=True,
                 requantize=True, uncoded=False):
    """The codec of a VQ-DeepSC weight file (already read by the zoo); ``uncoded`` picks
    the uncoded 64-QAM link. The MOC-RVQ receiver options change nothing here."""
    return VqDeepScCodec(model_from_payload(payload, path, device), identity=identity,
                         source=path, uncoded=bool(uncoded))
