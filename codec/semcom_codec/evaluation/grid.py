"""`semcom grid`: the same crop of one image as each system and the classical link
deliver it at a few SNRs, in one PNG (rows: systems, columns: Es/N0).

Every tile comes from the sweep's own path (`semcom eval`'s channel realisation of the
image, the same decoders and link), so the picture shows what the tables score; under
each tile its PSNR and LPIPS on the whole image.
"""

import os
import sys
from fractions import Fraction
from types import SimpleNamespace

import numpy as np

from . import compare

# the rows, top to bottom: the learned systems and the classical envelope
GRID_SCHEMES = ("moc-rvq", "deep-jscc", "deep-jscc-mse", "bpg-ldpc-best")


def parse_crop(text, height, width):
    """(top, left, size) of "TOP,LEFT,SIZE", refused unless it lies inside the image."""
    try:
        top, left, size = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--crop wants TOP,LEFT,SIZE in pixels, got {text!r}") from None
    if size < 16 or top < 0 or left < 0 or top + size > height or left + size > width:
        raise ValueError(f"--crop {text}: a square of at least 16 pixels inside the "
                         f"{width}x{height} image")
    return top, left, size


def decode_tiles(path, level, snrs, index=0, seed=0):
    """{(scheme, SNR): (HWC image, scores)} of ``path`` at ``level``, and the labels of
    the schemes present (a deep JSCC model that is not installed is left out)."""
    from ..metrics.lpips import LPIPS
    from ..systems.moc_rvq.model import load_codec
    from ..zoo import default_codec_weights

    schemes = {s: (level,) for s in GRID_SCHEMES
               if s not in compare.JSCC_SCHEMES or level in compare.JSCC_LEVEL_CBRS}
    analog, _, missing = compare.load_jscc_models(schemes, required=False)
    for scheme, lv in missing:
        print(f"semcom grid: {compare.LABELS[scheme]} at L{lv} left out: its weights are "
              f"not installed", file=sys.stderr)
        schemes.pop(scheme)
    codec = load_codec(default_codec_weights())
    models = {"reordered": (codec, None), **analog}
    # semcom eval's defaults: AWGN, one realisation per image and seed
    args = SimpleNamespace(channel="awgn", seed=seed, k_factor=1.0, block_length=1)
    tiles = {}
    with _temporary_folder() as cache:
        case = compare.ImageCase(path, index, codec, LPIPS().eval(), cache, analog)
        realisation = compare.realisation_for(case, args)
        for snr in snrs:
            for scheme in schemes:
                image = compare.decoded_image(scheme, level, case, models, realisation, snr,
                                              seed * 1000 + index)
                tiles[(scheme, snr)] = (image, case.scorer(image))
    return case.image, tiles, [compare.LABELS[s] for s in schemes], list(schemes)


def _temporary_folder():
    import tempfile

    return tempfile.TemporaryDirectory(prefix="semcom_grid_")


def render(original, tiles, schemes, labels, snrs, crop, out, title):
    """Writes the grid PNG: the original crop, then one row per scheme."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top, left, size = crop

    def cut(image):
        return np.clip(image[top:top + size, left:left + size], 0, 1)

    columns = len(snrs) + 1
    fig, axes = plt.subplots(len(schemes), columns, figsize=(2.3 * columns, 2.5 * len(schemes)),
                             squeeze=False)
    for row, (scheme, label) in enumerate(zip(schemes, labels)):
        axes[row][0].imshow(cut(original))
        axes[row][0].set_ylabel(label, fontsize=8)
        axes[row][0].set_xlabel("sent", fontsize=8)
        for col, snr in enumerate(snrs, start=1):
            image, scores = tiles[(scheme, snr)]
            axes[row][col].imshow(cut(image))
            axes[row][col].set_xlabel(f"{scores['psnr']:.2f} dB / LPIPS {scores['lpips']:.3f}",
                                      fontsize=7)
            if row == 0:
                axes[row][col].set_title(f"Es/N0 {snr:g} dB", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def run_cli(args):
    from ..images import load_image
    from ..training import data

    files = data.image_files(args.data)
    names = [os.path.basename(f) for f in files]
    if args.image not in names:
        raise FileNotFoundError(f"--image {args.image} is not in {args.data}")
    index = names.index(args.image)
    snrs = [float(s) for s in args.snr.split(",") if s]
    height, width = load_image(files[index]).shape[:2]
    side = min(256, height, width)
    crop = (parse_crop(args.crop, height, width) if args.crop else
            ((height - side) // 2, (width - side) // 2, side))
    original, tiles, labels, schemes = decode_tiles(files[index], args.level, snrs, index,
                                                    args.seed)
    title = (f"{args.image}, L{args.level} (CBR {Fraction(args.level, 96)})"
             f", AWGN, semcom eval's channel realisation (seed {args.seed}); "
             f"crop {crop[2]} px at ({crop[0]}, {crop[1]})")
    render(original, tiles, schemes, labels, snrs, crop, args.out, title)
    print(f"wrote {args.out}")
    return 0
