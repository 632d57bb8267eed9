"""`semcom eval`: MOC-RVQ against deep JSCC and JPEG / BPG over LDPC + 64-QAM on the same
channel symbols.

Protocol (DESIGN section 4): every scheme gets, per image and level L, the complex symbols
MOC-RVQ sends at L levels. At a given seed an image meets one channel realisation (unit
noise and fading gains, scaled to each SNR), shared by every scheme, so curves differ only
by what the schemes do with the same channel. A classical bitstream that is not decoded
without error gives a mid-grey image, scored as such. The deep JSCC models run at the
CBR of MOC-RVQ's L levels (L2: 1/48, L4: 1/24): their analog symbols meet the first
noise samples of the same realisation, and the decoder is told the Es/N0.

Results go to a run folder one (image, SNR) unit per line of ``points.jsonl``, so a rerun
skips what is done; the averages go to ``results.json`` / ``results.csv``, the paper's
Fig. 3 and Fig. 4 as PNG, and a Markdown report.
"""

import csv
import hashlib
import json
import math
import os
import shlex
import sys
import time

import numpy as np
import torch

from ..baselines import link, link_curves, source
from ..checkpoints import file_sha256
from ..images import load_image
from ..interface import Received
from ..metrics.lpips import check_lpips_size
from ..metrics.psnr import psnr
from ..metrics.ssim import MultiScaleReference, check_ms_ssim_size
from ..phy import modes as phy_modes
from ..phy.channels import IndexChannel, Realisation
from ..runtime import resolve_device
from ..systems.moc_rvq.model import load_codec
from ..training import data
from .reordering import relabelled_codec_view, reorder_permutations, unreordered_indices

DEFAULT_SNRS = (-5, 0, 5, 10, 15, 20, 25, 30)
NOISELESS = None  # the Es/N0 of a noiseless point: the codec alone, no channel
QUICK_SNRS = (0, 10, 20)
QUICK_IMAGES = 2
GREY = 128 / 255.0

# name: (label, reordered codebooks, NRB, demapping, receiver told the Es/N0) of each
# MOC-RVQ variant. Without an NRB the Es/N0 only shapes the MMSE code vectors of hard
# decisions: withheld, each decision is dequantized to the decided vector (the paper's
# receiver without its NRB).
MOC_SCHEMES = {
    "moc-rvq": ("MOC-RVQ", True, True, "hard", True),
    "moc-rvq-soft": ("MOC-RVQ, soft demapping", True, True, "soft", True),
    "moc-rvq-no-nrb": ("MOC-RVQ w/o NRB", True, False, "hard", True),
    "moc-rvq-no-nrb-no-mmse": ("MOC-RVQ w/o NRB, decided code vectors", True, False, "hard",
                               False),
    "moc-rvq-no-reorder": ("MOC-RVQ w/o reordering", False, True, "hard", True),
    "moc-rvq-no-reorder-no-nrb": ("MOC-RVQ w/o reordering, w/o NRB", False, False, "hard",
                                  True),
}
# name: (label, shipped model) of each deep JSCC scheme, and the MOC-RVQ level whose
# CBR each shipped CBR matches
# The VQ-DeepSC schemes run through the same codec interface (a digital payload: their
# indices go through the Gray QAM of the codec's order and come back as soft posteriors,
# which its receiver turns into bit LLRs for LDPC decoding): the CBR-matched coded link
# and the uncoded one (fewer symbols than the budget; the rows say how many).
JSCC_SCHEMES = {
    "deep-jscc": ("Perceptual deep JSCC", "deep_jscc"),
    "deep-jscc-mse": ("Deep JSCC (MSE)", "deep_jscc_mse"),
    "vq-deepsc-uncoded": ("VQ-DeepSC, uncoded 64-QAM", "vq_deepsc"),
    "vq-deepsc": ("VQ-DeepSC, LDPC + 16-QAM", "vq_deepsc"),
}
# loader options of a scheme's codec
SCHEME_OPTIONS = {"vq-deepsc-uncoded": {"uncoded": True}}
JSCC_LEVEL_CBRS = {2: "1/48", 4: "1/24"}
# name: (label, link policy) of each classical scheme: the paper's fixed 64-QAM rate 1/2,
# the best of the sixteen LDPC + QAM schemes that delivers (the envelope deep JSCC papers
# compare against), a rate-adaptive link picking by measured SNR thresholds, capacity
CLASSICAL_SCHEMES = {
    "jpeg-ldpc": ("JPEG + LDPC 1/2, 64-QAM (paper)", "paper"),
    "bpg-ldpc": ("BPG + LDPC 1/2, 64-QAM (paper)", "paper"),
    "jpeg-ldpc-best": ("JPEG + LDPC, best MCS", "best"),
    "bpg-ldpc-best": ("BPG + LDPC, best MCS", "best"),
    "bpg-ldpc-adaptive": ("BPG + LDPC, rate-adaptive", "adaptive"),
    "bpg-capacity": ("BPG + capacity", "capacity"),
}
# name: (label, mode) of each transmission-mode scheme (issue 17): the model's receiver
# told the mode and Es/N0, hard decisions; "auto" picks the mode per Es/N0 from the
# threshold table in the weight file. Each stands at the level whose 64-QAM budget it
# fills (phy.modes.MODE_SETS).
MODE_SCHEMES = {"moc-rvq-auto": ("MOC-RVQ, SNR-adaptive mode", "auto"),
                **{f"moc-rvq-{m.name}": (f"MOC-RVQ, mode {m.name}", m.name)
                   for table in phy_modes.MODE_SETS.values() for m in table}}
LABELS = {**{k: v[0] for k, v in MOC_SCHEMES.items()},
          **{k: v[0] for k, v in MODE_SCHEMES.items()},
          **{k: v[0] for k, v in JSCC_SCHEMES.items()},
          **{k: v[0] for k, v in CLASSICAL_SCHEMES.items()}}
# The default run: Fig. 3 (all levels) and the Fig. 4 ablation and soft demapping at L4.
DEFAULT_SCHEMES = {
    "moc-rvq": (1, 2, 3, 4),
    "jpeg-ldpc": (1, 2, 3, 4),
    "bpg-ldpc": (1, 2, 3, 4),
    "jpeg-ldpc-best": (1, 2, 3, 4),
    "bpg-ldpc-best": (1, 2, 3, 4),
    "bpg-ldpc-adaptive": (1, 2, 3, 4),
    "bpg-capacity": (1, 2, 3, 4),
    "deep-jscc": (2, 4),
    "deep-jscc-mse": (2, 4),
    "vq-deepsc": (2, 4),
    "vq-deepsc-uncoded": (2, 4),
    "moc-rvq-soft": (4,),
    "moc-rvq-no-nrb": (4,),
    "moc-rvq-no-reorder": (4,),
    "moc-rvq-no-reorder-no-nrb": (4,),
}
METRICS = ("psnr", "ssim", "ms_ssim", "lpips", "dists")
METRICS_VERSION = "m5"  # in each point's key: points scored on fewer metrics are redone


# the seed systems `--systems` picks among; each comes with every classical row
SYSTEMS = ("moc-rvq", "deep-jscc", "deep-jscc-mse", "vq-deepsc")


def parse_systems(text):
    """The schemes of ``--systems a,b``: those systems at their CBRs beside every
    classical row, as a scheme list for ``parse_schemes``."""
    names = [n for n in text.split(",") if n]
    for name in names:
        if name not in SYSTEMS:
            raise ValueError(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    return ",".join(names + list(CLASSICAL_SCHEMES))


def parse_snrs(text):
    """Es/N0 values of "--snr a,b,...", "noiseless" standing for a point without channel."""
    snrs = []
    for token in (t.strip() for t in text.split(",")):
        if token == "noiseless":
            snrs.append(NOISELESS)
        elif token:
            try:
                snrs.append(float(token))
            except ValueError:
                raise ValueError(f"--snr: {token!r} is neither a number of dB nor "
                                 f"'noiseless'") from None
    if len(set(snrs)) != len(snrs):
        raise ValueError(f"--snr: {text!r} names an Es/N0 twice")
    return tuple(snrs)


def snr_order(snr):
    """Sort key of Es/N0 values: the noiseless point first."""
    return (snr is not NOISELESS, snr if snr is not NOISELESS else 0.0)


def parse_schemes(text, levels):
    """{scheme: levels} from "a,b,..." (empty: the defaults), restricted to ``levels``."""
    if not text:
        chosen = dict(DEFAULT_SCHEMES)
    else:
        chosen = {}
        for name in text.split(","):
            if name not in LABELS:
                raise ValueError(f"unknown scheme {name!r}; choose from {', '.join(LABELS)}")
            chosen[name] = (tuple(JSCC_LEVEL_CBRS) if name in JSCC_SCHEMES else
                            mode_scheme_levels(name) if name in MODE_SCHEMES else (1, 2, 3, 4))
    out = {k: tuple(v for v in lv if v in levels) for k, lv in chosen.items()}
    return {k: v for k, v in out.items() if v}


def mode_scheme_levels(scheme):
    """The levels (64-QAM budgets) a mode scheme stands at: auto at every budget with a
    mode set, a fixed mode at the one it fills."""
    mode = MODE_SCHEMES[scheme][1]
    budgets = {cbr: table[0].levels for cbr, table in phy_modes.MODE_SETS.items()}
    if mode == "auto":
        return tuple(sorted(budgets.values()))
    return tuple(table[0].levels for table in phy_modes.MODE_SETS.values()
                 if any(m.name == mode for m in table))


def parse_modes(text):
    """Scheme names of "--mode auto|NAME[,...]|all"."""
    if not text:
        return []
    if text == "all":
        return list(MODE_SCHEMES)
    names = []
    for item in text.split(","):
        scheme = f"moc-rvq-{item}"
        if scheme not in MODE_SCHEMES:
            raise ValueError(f"--mode {item!r}: choose auto, all or a mode of "
                             f"{', '.join(v[1] for k, v in MODE_SCHEMES.items() if k != 'moc-rvq-auto')}")
        names.append(scheme)
    return names


class Scorer:
    """PSNR, SSIM, MS-SSIM, LPIPS and DISTS of images against one reference; an image
    scored before (the same bytes) is not scored again."""

    def __init__(self, reference, lpips, dists=None):
        self.reference = reference
        self.lpips = lpips
        self.dists = dists
        self.x = torch.from_numpy(reference).permute(2, 0, 1)[None].float()
        self._dists_reference = None
        self._ssim_reference = None
        self._done = {}

    def __call__(self, image):
        image = np.ascontiguousarray(image, dtype=np.float32)
        key = hashlib.sha256(image.tobytes()).digest()
        if key not in self._done:
            self._done[key] = self._score(image)
        return dict(self._done[key])

    def _score(self, image):
        y = torch.from_numpy(image).permute(2, 0, 1)[None]
        with torch.no_grad():
            perceptual = float(self.lpips(y, self.x, normalize=True))
            scores = {}
            if self.dists is not None:
                if self._dists_reference is None:
                    self._dists_reference = self.dists.reference(self.x)
                scores["dists"] = float(self.dists.compare(self._dists_reference, y)[0])
        if self._ssim_reference is None:
            self._ssim_reference = MultiScaleReference(self.reference)
        structural, multiscale = self._ssim_reference(image)
        return {"psnr": psnr(self.reference, image), "ssim": structural,
                "ms_ssim": multiscale, "lpips": perceptual, **scores}


class ImageCase:
    """One test image: its MOC-RVQ indices, symbol budgets, deep JSCC symbols and
    classical coders."""

    def __init__(self, path, index, codec, lpips, cache_dir, analog_codecs, dists=None,
                 device="cpu", mode_codec=None):
        self.path = path
        self.index = index
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.image = load_image(path)
        self.size = self.image.shape[:2]
        self.scorer = Scorer(self.image, lpips, dists)
        x = torch.from_numpy(self.image).permute(2, 0, 1)[None].to(device)
        began = time.perf_counter()
        self.indices = codec.encode(x).cpu()                # [1, D, P, h, w]
        # encoder seconds of each system, for its rows' encode + decode time
        self.encode_seconds = {"moc-rvq": time.perf_counter() - began}
        # the transmission modes' codec (--mode-weights) encodes for its own rows
        self.mode_indices = (self.indices if mode_codec is None or mode_codec is codec
                             else mode_codec.encode(x).cpu())
        per_level = int(np.prod(self.indices.shape[2:]))
        # Symbols of L levels: two indices per symbol, an odd count padded by one.
        self.symbols = {lv: -(-lv * per_level // 2) for lv in range(1, codec.cfg.levels + 1)}
        # {(scheme, level): payload} of the learned interface codecs (deep JSCC symbols,
        # VQ-DeepSC indices)
        self.analog = {}
        self.payload_symbols = {}  # channel symbols of each of their payloads
        for key, analog in analog_codecs.items():
            began = time.perf_counter()
            self.analog[key] = analog.encode(self.image, rate=scheme_rate(analog, key[1]))
            self.encode_seconds[key] = time.perf_counter() - began
            self.payload_symbols[key] = analog.payload(
                *self.size, rate=scheme_rate(analog, key[1])).channel_symbols
        # one channel draw serves every scheme: as long as the longest transmission
        self.channel_length = max([*self.symbols.values(), *self.payload_symbols.values()])
        key = hashlib.sha256(self.image.tobytes()).hexdigest()[:12]
        self.key = f"{self.name}_{key}"
        self.cache_dir = cache_dir
        self._coders = {}
        self._scores = {}
        self.sent = {}  # (kind, quality, scheme, symbols, Es/N0, seed): arrived intact

    def coder(self, kind):
        if kind not in self._coders:
            coder = source.JpegCoder() if kind == "jpeg" else source.HevcCoder()
            self._coders[kind] = source.SourceCoder(coder, self.image, self.key,
                                                           self.cache_dir)
        return self._coders[kind]

    def score_of(self, kind, quality):
        """Scores of the classical reconstruction (None quality: the grey failure image)."""
        key = (kind, quality)
        if key not in self._scores:
            if quality is None:
                self._scores[key] = self.scorer(np.full_like(self.image, GREY))
            else:
                reconstruction = self.coder(kind).reconstruction(quality) / 255.0
                self._scores[key] = self.scorer(reconstruction)
        return self._scores[key]


def _moc_received(indices, realisation, esn0_db, demapping, order):
    """Indices [1, L, P, h, w] through the realisation: hard indices or posteriors."""
    channel = IndexChannel(order)
    received, n0 = realisation.apply(channel.modulate(indices)[0], esn0_db)
    return channel.demodulate(received[None], n0[None], indices.shape, demapping)


def mode_of(scheme, level, models, esn0_db):
    """The phy.modes.Mode a mode scheme sends at ``level``'s budget and ``esn0_db``."""
    from ..systems.moc_rvq.image_codec import pick_mode

    name = MODE_SCHEMES[scheme][1]
    if name == "auto":
        cbr = next(c for c, t in phy_modes.MODE_SETS.items() if t[0].levels == level)
        name = pick_mode(models["thresholds"], cbr, esn0_db)
    return phy_modes.mode_named(name)


def mode_image(scheme, level, case, models, realisation, esn0_db):
    """(HWC image, mode name) a transmission-mode scheme decodes at ``level``'s budget:
    the mode's levels on its constellations through the realisation, hard-demapped by
    the numpy reference the radio blocks use, the receiver told mode and Es/N0."""
    from .mode_table import mode_received

    model = models["modes"]
    mode = mode_of(scheme, level, models, esn0_db)
    indices = case.mode_indices
    if mode.symbols_for(int(np.prod(indices.shape[2:]))) != case.symbols[level]:
        raise ValueError(f"mode {mode.name} does not fill the budget of L{level}")
    received = mode_received(indices, mode, realisation, esn0_db)
    device = next(model.parameters()).device
    image = model.decode(received.to(device), size=case.size, esn0_db=esn0_db, mode=mode)
    return image[0].permute(1, 2, 0).cpu().numpy(), mode.name


def moc_image(scheme, level, case, models, realisation, esn0_db):
    """The HWC image a MOC-RVQ variant decodes from the case's indices at ``level``
    through the realisation (noiseless: the indices themselves, no NRB: every variant
    is then the same codec)."""
    _, reordered, nrb, demapping, told = MOC_SCHEMES[scheme]
    model, perms = models["reordered" if reordered else "unreordered"]
    sent = case.indices[:, :level]
    if not reordered:
        sent = unreordered_indices(sent, perms)
    if esn0_db is NOISELESS:
        received, nrb = sent, False
    else:
        received = _moc_received(sent, realisation, esn0_db, demapping, model.cfg.entries)
    device = next(model.parameters()).device
    # the receiver knows the (average) Es/N0, as a real one estimates it
    image = model.decode(received.to(device), size=case.size, noise_reduction=nrb,
                         esn0_db=esn0_db if told else None)
    return image[0].permute(1, 2, 0).cpu().numpy()


NOISELESS_N0 = 1e-10  # what an analog decoder is told at the noiseless point


def scheme_rate(codec, level):
    """The rate knob a learned codec stands at beside MOC-RVQ's ``level``: VQ-DeepSC's
    CBR-matched links are numbered by the level whose CBR they fill; a codec of one
    configuration (deep JSCC, the uncoded VQ-DeepSC link) has its default."""
    return level if level in codec.rates else codec.default_rate


def jscc_image(scheme, level, case, models, realisation, esn0_db):
    """The HWC image a learned interface codec decodes from its payload through the
    realisation: deep JSCC's analog symbols (the decoder told the noise variance), or
    VQ-DeepSC's indices on Gray QAM, soft-demapped with the (per-symbol) N0."""
    codec = models[(scheme, level)]
    sent = case.analog[(scheme, level)]
    digital = codec.kind != "symbols"
    if esn0_db is NOISELESS:  # the payload itself, the decoder told a vanishing N0
        received = Received(sent, None if digital else NOISELESS_N0)
    elif digital:
        channel = IndexChannel(codec.order)
        indices = torch.from_numpy(sent.astype(np.int64))[None]
        symbols, n0 = realisation.apply(channel.modulate(indices)[0], esn0_db)
        posteriors = channel.demodulate(symbols[None], n0[None], indices.shape, "soft")[0]
        noise_var = float(n0[0]) if realisation.gains is None else n0.numpy()
        received = Received(posteriors.numpy(), noise_var)
    else:
        symbols, n0 = realisation.apply(torch.from_numpy(sent), esn0_db)
        noise_var = float(n0[0]) if realisation.gains is None else n0.numpy()
        received = Received(symbols.numpy(), noise_var)
    return codec.decode(received, height=case.size[0], width=case.size[1],
                        rate=scheme_rate(codec, level))


def decoded_image(scheme, level, case, models, realisation, esn0_db, seed):
    """What any scheme's receiver shows of the case at ``level``: a classical bitstream
    that does not arrive intact is the mid-grey image it is scored as."""
    if scheme in MOC_SCHEMES:
        return moc_image(scheme, level, case, models, realisation, esn0_db)
    if scheme in MODE_SCHEMES:
        return mode_image(scheme, level, case, models, realisation, esn0_db)[0]
    if scheme in JSCC_SCHEMES:
        return jscc_image(scheme, level, case, models, realisation, esn0_db)
    row = classical_row(scheme, case, case.symbols[level], realisation, esn0_db, seed)
    if not row["delivered"]:
        return np.full_like(case.image, GREY)
    kind = "jpeg" if scheme.startswith("jpeg") else "hevc"
    return case.coder(kind).reconstruction(row["quality"]) / 255.0


def schemes_at(schemes, esn0_db):
    """The schemes a point computes: all of them over a channel; at the noiseless point
    only the codecs themselves (every MOC-RVQ variant is then plain MOC-RVQ, and a
    classical link has nothing to adapt to)."""
    if esn0_db is not NOISELESS:
        return schemes
    return {k: v for k, v in schemes.items() if k == "moc-rvq" or k in JSCC_SCHEMES}


def run_unit(case, esn0_db, schemes, models, realisation, seed):
    """All scheme rows of one image at one SNR. A learned system's row carries the
    seconds of its encoder and of this receiver's decode."""
    rows = []
    for scheme, levels in schemes_at(schemes, esn0_db).items():
        for level in levels:
            row = {"image": case.name, "scheme": scheme, "levels": level, "esn0_db": esn0_db,
                   "symbols": case.symbols[level],
                   "cbr": case.symbols[level] / (3 * case.size[0] * case.size[1])}
            if scheme in MOC_SCHEMES:
                began = time.perf_counter()
                image = moc_image(scheme, level, case, models, realisation, esn0_db)
                row["codec_seconds"] = (case.encode_seconds["moc-rvq"]
                                        + time.perf_counter() - began)
                row.update(case.scorer(image))
                row["delivered"] = True
            elif scheme in MODE_SCHEMES:
                began = time.perf_counter()
                image, row["mode"] = mode_image(scheme, level, case, models, realisation,
                                                esn0_db)
                row["codec_seconds"] = (case.encode_seconds["moc-rvq"]
                                        + time.perf_counter() - began)
                row.update(case.scorer(image))
                row["delivered"] = True
            elif scheme in JSCC_SCHEMES:
                began = time.perf_counter()
                image = jscc_image(scheme, level, case, models, realisation, esn0_db)
                row["codec_seconds"] = (case.encode_seconds[(scheme, level)]
                                        + time.perf_counter() - began)
                sent = case.payload_symbols[(scheme, level)]
                row.update(case.scorer(image))
                row.update({"symbols": sent, "cbr": sent / (3 * case.size[0] * case.size[1]),
                            "delivered": True})
            else:
                row.update(classical_row(scheme, case, case.symbols[level], realisation,
                                         esn0_db, seed * 1000 + case.index))
            rows.append(row)
    return rows


def link_candidates(scheme, esn0_db, realisation):
    """The schemes (Mcs) a classical row tries, in order, until one delivers: the paper's
    one; the rate-adaptive link's pick from the measured thresholds; or, for the
    envelope, every scheme from the most bits per symbol down (the first that delivers
    carries the largest bitstream). Over AWGN the envelope skips schemes above the
    channel's capacity, log2(1 + SNR) bits per symbol, which no code can decode."""
    policy = CLASSICAL_SCHEMES[scheme][1]
    if policy == "paper":
        return [link.PAPER_MCS]
    if policy == "adaptive":
        pick = link_curves.adaptive_mcs(esn0_db, _thresholds())
        return [pick] if pick is not None else []
    limit = math.log2(1.0 + 10.0 ** (esn0_db / 10.0))
    return [m for m in sorted(link.MCS_TABLE, key=lambda m: (-m.efficiency,
                                                             link.MODULATIONS[m.modulation]))
            if realisation.gains is not None or m.efficiency < limit]


_THRESHOLDS = {}


def _thresholds():
    """The shipped threshold table of the rate-adaptive link (read once)."""
    if not _THRESHOLDS:
        _THRESHOLDS.update(link_curves.load_thresholds())
    return _THRESHOLDS


def classical_row(scheme, case, symbols, realisation, esn0_db, seed):
    """Scores and link facts of one classical scheme: the highest source quality that
    fits the link's payload, and whether its bitstream arrives intact (if not: grey)."""
    kind = "jpeg" if scheme.startswith("jpeg") else "hevc"
    coder = case.coder(kind)
    if scheme == "bpg-capacity":
        budget = link.capacity_bytes(esn0_db, realisation.power(symbols))
        quality = coder.best_quality(budget)
        return {**case.score_of(kind, quality), "quality": quality, "budget_bytes": budget,
                "delivered": quality is not None, "mcs": None}
    tried = None
    for mcs in link_candidates(scheme, esn0_db, realisation):
        budget = link.payload_bytes_for(symbols, mcs)
        quality = coder.best_quality(budget)
        tried = (mcs, budget, quality)
        if quality is None:  # not even the lowest quality fits: nor with fewer bits
            break
        # the same bitstream on the same scheme and noise (e.g. the envelope and the
        # adaptive link at high SNR) arrives or not alike: decoded once
        key = (kind, quality, mcs.name, symbols, esn0_db, seed)
        if key not in case.sent:
            case.sent[key] = link.send_bitstream(coder.payload(quality), symbols,
                                                 realisation, esn0_db, seed=seed, mcs=mcs)[0]
        if case.sent[key]:
            return {**case.score_of(kind, quality), "quality": quality,
                    "budget_bytes": budget, "delivered": True, "mcs": mcs.name}
    mcs, budget, quality = tried or (None, 0, None)
    return {**case.score_of(kind, None), "quality": quality, "budget_bytes": budget,
            "delivered": False, "mcs": mcs.name if mcs else None}


def _load_done(path):
    """Points already computed, by (image, SNR, config). A line cut short by an interrupted
    run is dropped and the file rewritten without it, so that appending stays clean."""
    done, good, damaged = {}, [], False
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    unit = json.loads(line)
                    done[(unit["image"], unit["esn0_db"], unit["config"])] = unit
                    good.append(line if line.endswith("\n") else line + "\n")
                except (json.JSONDecodeError, KeyError, TypeError):
                    damaged = True
    if damaged:
        with open(path, "w") as f:
            f.writelines(good)
    return done


def aggregate(rows):
    """Mean of every metric per (scheme, levels, SNR), with the delivered share."""
    groups = {}
    for r in rows:
        groups.setdefault((r["scheme"], r["levels"], r["esn0_db"]), []).append(r)
    out = []
    for (scheme, level, snr), members in sorted(groups.items(),
                                                key=lambda g: (g[0][:2], snr_order(g[0][2]))):
        entry = {"scheme": scheme, "label": LABELS[scheme], "levels": level, "esn0_db": snr,
                 "images": len(members), "symbols": float(np.mean([m["symbols"] for m in members])),
                 "cbr": float(np.mean([m["cbr"] for m in members])),
                 "delivered": float(np.mean([m["delivered"] for m in members]))}
        for m in METRICS:
            entry[m] = float(np.mean([r[m] for r in members]))
        seconds = [m["codec_seconds"] for m in members if "codec_seconds" in m]
        if seconds:  # a learned system: encode + decode per image
            entry["codec_seconds_median"] = float(np.median(seconds))
        for key in ("mcs", "mode"):  # the classical link's or the modes' most frequent pick
            picks = [m[key] for m in members if m.get(key)]
            if picks:
                entry[key] = max(sorted(set(picks)), key=picks.count)
        out.append(entry)
    return out


def level_of_cbr(cbr):
    """The MOC-RVQ level whose CBR a deep JSCC model's ``cbr`` (a string, "1/24") is."""
    for level, text in JSCC_LEVEL_CBRS.items():
        if text == cbr:
            return level
    raise ValueError(f"a deep JSCC model at CBR {cbr} has no MOC-RVQ level to stand beside: "
                     f"it is compared at " + ", ".join(
                         f"{c} (L{lv})" for lv, c in JSCC_LEVEL_CBRS.items()))


def load_jscc_models(schemes, required=True, files=None, device="cpu"):
    """{(scheme, level): ImageCodec} of the deep JSCC schemes asked for, at the CBR of
    each level (shipped weights, found as zoo.load finds them, or the weight file
    ``files[scheme]``), their files, and the (scheme, level) pairs left out because their
    weights are not installed (only when not ``required``: a default run; asked for by
    name, a missing file is an error)."""
    from .. import zoo

    files = files or {}

    codecs, missing = {}, []
    for scheme, levels in schemes.items():
        if scheme not in JSCC_SCHEMES:
            continue
        for level in levels:
            if level not in JSCC_LEVEL_CBRS:
                raise ValueError(f"{scheme} runs at the CBR of levels "
                                 f"{', '.join(map(str, JSCC_LEVEL_CBRS))}, not L{level}")
            try:
                options = SCHEME_OPTIONS.get(scheme, {})
                if scheme in files:
                    codec = zoo.load(files[scheme], device=device, **options)
                    if codec.system != JSCC_SCHEMES[scheme][1]:
                        raise ValueError(f"{files[scheme]}: a {codec.system} model, "
                                         f"not {JSCC_SCHEMES[scheme][1]}")
                else:
                    codec = zoo.load(JSCC_SCHEMES[scheme][1], cbr=JSCC_LEVEL_CBRS[level],
                                     device=device, **options)
                codecs[(scheme, level)] = codec
            except FileNotFoundError:
                if required:
                    raise
                missing.append((scheme, level))
    return codecs, sorted({c.source for c in codecs.values()}), missing


def realisation_for(case, args):
    """The channel draw of ``case`` (the case.index-th image of the folder) under the
    channel flags of ``args``: the same at every SNR and for every scheme, and the same
    for anyone who rebuilds it (benchmarks/bench_blocks_vs_eval.py replays it through the
    GNU Radio blocks)."""
    return Realisation(case.channel_length, args.channel,
                       seed=args.seed * 100_003 + case.index, k_factor=args.k_factor,
                       block_length=args.block_length)


def zoo_shipped():
    from ..zoo import SHIPPED

    return SHIPPED


def _mode_thresholds(weights):
    from ..checkpoints import read_weight_file
    from ..systems.moc_rvq.image_codec import mode_thresholds

    return mode_thresholds(read_weight_file(weights, "cpu"), weights)


def _shown_path(path):
    """A path as the report shows it: relative to the working folder when inside it."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else os.fspath(path)


def run(args):
    """The sweep; returns (aggregated rows, meta)."""
    start = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    from ..metrics.lpips import LPIPS
    from ..zoo import default_codec_weights

    device = resolve_device(getattr(args, "device", "cpu"))  # a missing GPU: before any work
    weights = args.weights or default_codec_weights()
    snrs = QUICK_SNRS if args.quick and not args.snr else parse_snrs(
        args.snr or ",".join(map(str, DEFAULT_SNRS)))
    levels = tuple(int(v) for v in args.levels.split(","))
    if getattr(args, "systems", "") and args.schemes:
        raise ValueError("give --schemes or --systems, not both")
    if getattr(args, "systems", ""):
        args.schemes = parse_systems(args.systems)
    # a preset (semcom evaluate) hands its {scheme: levels} over directly
    schemes = getattr(args, "scheme_levels", None) or parse_schemes(args.schemes, levels)
    for name in parse_modes(getattr(args, "mode", "")):
        schemes[name] = tuple(v for v in mode_scheme_levels(name) if v in levels)
    schemes = {k: v for k, v in schemes.items() if v}
    if any(s in MODE_SCHEMES for s in schemes) and args.channel != "awgn":
        raise ValueError("transmission modes are evaluated over AWGN only (--channel awgn)")
    files = data.image_files(args.data)
    files = files[:args.images or (QUICK_IMAGES if args.quick else None)]
    data.check_test_images(files, [check_lpips_size, check_ms_ssim_size])
    codec = load_codec(weights, device)
    perms = reorder_permutations(weights, codec)
    if perms is None and any(s in MOC_SCHEMES and not MOC_SCHEMES[s][1] for s in schemes):
        raise ValueError(f"{weights} holds no reordering permutations: the unreordered "
                         f"ablation needs a model saved after codebook reordering")
    with_modes = any(s in MODE_SCHEMES for s in schemes)
    mode_weights = getattr(args, "mode_weights", "") or weights
    if mode_weights in zoo_shipped():
        from ..zoo import shipped_weights

        mode_weights = shipped_weights(mode_weights)
    mode_codec = (load_codec(mode_weights, device)
                  if with_modes and mode_weights != weights else codec)
    thresholds = _mode_thresholds(mode_weights) if with_modes else {}
    if "moc-rvq-auto" in schemes and not thresholds:
        raise ValueError(f"--mode auto: {mode_weights} carries no mode threshold table "
                         "(`semcom modes` measures one)")
    models = {"reordered": (codec, None), "thresholds": thresholds, "modes": mode_codec,
              "unreordered": (relabelled_codec_view(codec, perms), perms) if perms is not None
              else None}
    analog_codecs, analog_files, left_out = load_jscc_models(
        schemes, bool(args.schemes or getattr(args, "scheme_levels", None)),
        getattr(args, "jscc_files", None), device)
    for scheme, level in left_out:
        print(f"semcom eval: {LABELS[scheme]} at CBR {JSCC_LEVEL_CBRS[level]} (L{level}) left "
              f"out: its weights are not installed", file=sys.stderr)
        schemes[scheme] = tuple(v for v in schemes[scheme] if v != level)
    schemes = {k: v for k, v in schemes.items() if v}
    models.update(analog_codecs)
    lpips = LPIPS().eval()
    from ..metrics.dists import shared_module as dists_module

    dists = dists_module()
    os.makedirs(args.out, exist_ok=True)
    cache_dir = os.path.join(args.out, "source_cache")
    points_path = os.path.join(args.out, "points.jsonl")
    sha = file_sha256(weights)
    # A point is reused only for the same model, channel, seed and scheme set.
    scheme_key = ";".join(f"{k}={','.join(map(str, v))}" for k, v in sorted(schemes.items()))
    config = (f"{sha[:16]}:{METRICS_VERSION}:{args.channel}:k{args.k_factor}:b{args.block_length}:s{args.seed}:"
              f"{scheme_key}" + "".join(f":{file_sha256(f)[:16]}" for f in analog_files)
              + (f":t{file_sha256(link_curves.THRESHOLDS_PATH)[:16]}"
                 if "bpg-ldpc-adaptive" in schemes else "")
              + (f":m{file_sha256(mode_weights)[:16]}" if with_modes else ""))
    done = _load_done(points_path)
    rows = []
    total = len(files) * len(snrs)
    count = 0
    point_seconds = 0.0  # compute time of every point, this run's and reused ones
    with open(points_path, "a") as points:
        for i, path in enumerate(files):
            case = None
            for snr in snrs:
                count += 1
                name = os.path.splitext(os.path.basename(path))[0]
                key = (name, snr, config)
                if key in done:
                    rows += done[key]["rows"]
                    point_seconds += done[key].get("seconds", 0.0)
                    continue
                began = time.perf_counter()
                if case is None:
                    case = ImageCase(path, i, codec, lpips, cache_dir, analog_codecs, dists,
                                     device, mode_codec)
                    realisation = realisation_for(case, args)
                unit = run_unit(case, snr, schemes, models, realisation, args.seed)
                seconds = time.perf_counter() - began
                point_seconds += seconds
                points.write(json.dumps({"image": name, "esn0_db": snr, "config": config,
                                         "seconds": seconds, "rows": unit}) + "\n")
                points.flush()
                rows += unit
                elapsed = time.perf_counter() - start
                print(f"\r{count}/{total} (image, SNR) points, {elapsed:.0f} s", end="",
                      file=sys.stderr, flush=True)
    print(file=sys.stderr)
    meta = {"command": "semcom " + shlex.join(getattr(args, "argv", [])),
            "weights": _shown_path(weights), "weights_sha256": sha,
            "jscc_weights": [_shown_path(f) for f in analog_files],
            "mode_weights": _shown_path(mode_weights) if with_modes else None,
            "mode_weights_sha256": file_sha256(mode_weights) if with_modes else None,
            "left_out": [f"{scheme} L{level}" for scheme, level in left_out],
            "images": len(files),
            "folder": os.fspath(args.data), "channel": args.channel,
            "k_factor": args.k_factor, "block_length": args.block_length, "seed": args.seed,
            "snrs": list(snrs), "wall_seconds": time.perf_counter() - start,
            "point_seconds": point_seconds,
            "threads": torch.get_num_threads()}
    return aggregate(rows), meta


def write_outputs(results, meta, out, markdown=None):
    """results.json / .csv and the figures in ``out``; with ``markdown``, the report, a
    copy of the CSV and the figures go beside it (so that the report is self-contained)."""
    from . import report

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    csv_paths = [os.path.join(out, "results.csv")]
    doc_dir, stem = out, "results"
    if markdown:
        doc_dir = os.path.dirname(os.path.abspath(markdown))
        os.makedirs(doc_dir, exist_ok=True)
        stem = os.path.splitext(os.path.basename(markdown))[0].lower()
        csv_paths.append(os.path.join(doc_dir, f"{stem}.csv"))
    for path in csv_paths:
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(
                key for r in results for key in r)))
            writer.writeheader()
            writer.writerows(results)
    figures = report.plot(results, doc_dir, stem)
    if markdown:
        with open(markdown, "w") as f:
            f.write(report.markdown(results, meta, figures, doc_dir, csv_paths[-1]))
    return figures


def run_cli(args):
    results, meta = run(args)
    figures = write_outputs(results, meta, args.out, args.markdown)
    from .report import summary_lines

    for line in summary_lines(results):
        print(line)
    print(f"results: {os.path.join(args.out, 'results.json')}, figures: {', '.join(figures)}; "
          f"{meta['wall_seconds']:.0f} s")
    return 0
