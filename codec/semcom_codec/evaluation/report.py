"""Figures and the Markdown report of `semcom eval` (the paper's Fig. 3 and Fig. 4)."""

import os
from fractions import Fraction

METRIC_LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "ms_ssim": "MS-SSIM", "lpips": "LPIPS",
                 "dists": "DISTS"}
# Which way is better, for "beats" statements.
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "ms_ssim": True, "lpips": False,
                    "dists": False}
FIG3_SCHEMES = ("moc-rvq", "moc-rvq-soft", "deep-jscc", "deep-jscc-mse", "vq-deepsc",
                "vq-deepsc-uncoded", "jpeg-ldpc", "bpg-ldpc",
                "jpeg-ldpc-best", "bpg-ldpc-best", "bpg-ldpc-adaptive", "bpg-capacity")
LINK_SCHEMES = ("jpeg-ldpc", "bpg-ldpc", "jpeg-ldpc-best", "bpg-ldpc-best", "bpg-ldpc-adaptive")
# the systems the summary places against the classical envelope and capacity
SUMMARY_SYSTEMS = ("moc-rvq", "moc-rvq-auto", "deep-jscc", "deep-jscc-mse", "vq-deepsc",
                   "vq-deepsc-uncoded")
# the per-CBR pictures: every learned system, the classical envelope and its realistic and
# capacity neighbours, the paper's fixed link
CBR_SCHEMES = ("moc-rvq", "moc-rvq-auto", "deep-jscc", "deep-jscc-mse", "vq-deepsc",
               "vq-deepsc-uncoded", "bpg-ldpc-best", "bpg-ldpc-adaptive", "bpg-capacity",
               "bpg-ldpc")
CBR_METRICS = ("psnr", "lpips", "dists")
FIG4_SCHEMES = ("moc-rvq", "moc-rvq-no-nrb", "moc-rvq-no-reorder", "moc-rvq-no-reorder-no-nrb",
                "moc-rvq-soft")
# (line style, colour) per scheme, the same in every panel
STYLES = {"moc-rvq": ("o-", "C0"), "moc-rvq-soft": ("o--", "C1"), "moc-rvq-no-nrb": ("s-", "C4"),
          "moc-rvq-no-reorder": ("^-", "C5"), "moc-rvq-no-reorder-no-nrb": ("v-", "C6"),
          "deep-jscc": ("*-", "C8"), "deep-jscc-mse": ("p-", "C9"),
          "jpeg-ldpc": ("x:", "C7"), "bpg-ldpc": ("d:", "C2"), "jpeg-ldpc-best": ("x-.", "C7"),
          "bpg-ldpc-best": ("d-", "C2"), "bpg-ldpc-adaptive": ("h-.", "C2"),
          "bpg-capacity": ("+--", "C3"), "moc-rvq-auto": ("o-", "C1"),
          "vq-deepsc": ("D-", "C5"), "vq-deepsc-uncoded": ("D:", "C5")}


def _cbr(results, level):
    """The level's channel bandwidth ratio as a fraction (symbols per image sample)."""
    # the budget most rows fill (a scheme that sends fewer symbols, such as VQ-DeepSC's
    # uncoded link, does not move it)
    values = [Fraction(r["cbr"]).limit_denominator(1000) for r in results
              if r["levels"] == level]
    return max(sorted(set(values)), key=values.count)


def _series(results, scheme, level, metric):
    """(Es/N0 values, metric values) of one curve; a noiseless point has no place on it."""
    points = sorted((r["esn0_db"], r[metric]) for r in results
                    if r["scheme"] == scheme and r["levels"] == level
                    and r["esn0_db"] is not None)
    return [p[0] for p in points], [p[1] for p in points]


def _label(results, scheme):
    return next(r["label"] for r in results if r["scheme"] == scheme)


def plot(results, out, stem="results"):
    """Writes STEM_fig3_levels.png and STEM_fig4_ablation.png to ``out``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    levels = sorted({r["levels"] for r in results})
    schemes = {r["scheme"] for r in results}
    metrics = list(METRIC_LABELS)
    fig, axes = plt.subplots(len(metrics), len(levels), figsize=(3.6 * len(levels), 2.8 * len(metrics)),
                             squeeze=False)
    for col, level in enumerate(levels):
        for row, metric in enumerate(metrics):
            ax = axes[row][col]
            for scheme in FIG3_SCHEMES:
                if scheme in schemes:
                    x, y = _series(results, scheme, level, metric)
                    if x:
                        style, colour = STYLES[scheme]
                        ax.plot(x, y, style, color=colour, label=_label(results, scheme), ms=4)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"L{level} (CBR {_cbr(results, level)})")
            if row == len(metrics) - 1:
                ax.set_xlabel("Es/N0 (dB)")
            if col == 0:
                ax.set_ylabel(METRIC_LABELS[metric])
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path = os.path.join(out, f"{stem}_fig3_levels.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    paths.append(path)

    paths += plot_per_cbr(results, out, stem)
    top = max(levels)
    ablation = [s for s in FIG4_SCHEMES if s in schemes and _series(results, s, top, "psnr")[0]]
    if len(ablation) > 1:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        _metric_panels(axes, results, ablation, top, ("psnr", "lpips"))
        axes[0].set_title(f"Ablation at L{top}")
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(out, f"{stem}_fig4_ablation.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def _metric_panels(axes, results, schemes, level, metrics):
    """One panel per metric against Es/N0, a curve per scheme at ``level``."""
    for ax, metric in zip(axes, metrics):
        for scheme in schemes:
            x, y = _series(results, scheme, level, metric)
            style, colour = STYLES[scheme]
            ax.plot(x, y, style, color=colour, label=_label(results, scheme), ms=4)
        ax.set_xlabel("Es/N0 (dB)")
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.grid(alpha=0.3)


def plot_per_cbr(results, out, stem="results"):
    """STEM_cbr<a>-<b>.png per level: PSNR, LPIPS and DISTS against Es/N0 of every system
    at that CBR beside the classical envelope; returns their paths."""
    import matplotlib.pyplot as plt

    paths = []
    schemes = {r["scheme"] for r in results}
    for level in sorted({r["levels"] for r in results}):
        shown = [s for s in CBR_SCHEMES if s in schemes and _series(results, s, level, "psnr")[0]]
        if not shown:
            continue
        cbr = _cbr(results, level)
        fig, axes = plt.subplots(1, len(CBR_METRICS), figsize=(4.2 * len(CBR_METRICS), 3.6))
        _metric_panels(axes, results, shown, level, CBR_METRICS)
        axes[0].set_title(f"CBR {cbr} (MOC-RVQ L{level})", loc="left")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8)
        fig.tight_layout(rect=(0, 0.12, 1, 1))
        path = os.path.join(out, f"{stem}_cbr{cbr.numerator}-{cbr.denominator}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def _wins(ours, theirs, metric):
    """The Es/N0 values where ``ours`` ({SNR: row}) beats ``theirs`` in ``metric``."""
    better = HIGHER_IS_BETTER[metric]
    return [s for s in sorted(set(ours) & set(theirs))
            if ours[s][metric] != theirs[s][metric]
            and (ours[s][metric] > theirs[s][metric]) == better]


def _standing(ours, theirs, metric):
    """Where ``ours`` beats ``theirs`` ({SNR: row}) in ``metric``, in words with numbers."""
    fmt = "{:.2f}" if metric == "psnr" else "{:.3f}"
    snrs = sorted(set(ours) & set(theirs))
    wins = _wins(ours, theirs, metric)
    losses = [s for s in snrs if s not in wins]

    def figures(group):
        return ", ".join(f"{s:g} dB ({fmt.format(ours[s][metric])} vs "
                         f"{fmt.format(theirs[s][metric])})" for s in group)

    if not wins:
        return f"behind at every SNR: {figures(losses)}"
    if not losses:
        return f"ahead at every SNR: {figures(wins)}"
    return f"ahead at {figures(wins)}; behind at {figures(losses)}"


def _rows_of(results, scheme, level):
    """{Es/N0: row} of one scheme at one level, over a channel (no noiseless point)."""
    return {r["esn0_db"]: r for r in results if r["scheme"] == scheme
            and r["levels"] == level and r["esn0_db"] is not None}


def headline_lines(results):
    """Per CBR, in one sentence: at which Es/N0 MOC-RVQ (and, where the run has it, its
    SNR-adaptive modes) beats the classical envelope and BPG + capacity, metric by
    metric."""
    present = {r["scheme"] for r in results}
    reference = "bpg-ldpc-best" if "bpg-ldpc-best" in present else "bpg-ldpc"
    lines = []
    for level in sorted({r["levels"] for r in results}):
        clauses = []
        for system in ("moc-rvq", "moc-rvq-auto"):
            ours = _rows_of(results, system, level)
            parts = []
            for ref in (reference, "bpg-capacity") if ours else ():
                theirs = _rows_of(results, ref, level)
                if not theirs:
                    continue
                said = []
                for metric in CBR_METRICS:
                    wins = _wins(ours, theirs, metric)
                    where = ", ".join(f"{s:g}" for s in wins) + " dB" if wins else "no SNR"
                    said.append(f"in {METRIC_LABELS[metric].split(' ')[0]} at {where}")
                parts.append(f"{_label(results, ref)} " + ", ".join(said))
            if parts:
                clauses.append(f"{_label(results, system)} beats " + "; it beats ".join(parts))
        if clauses:
            lines.append(f"CBR {_cbr(results, level)} (L{level}): " + "; ".join(clauses) + ".")
    return lines


def summary_lines(results):
    """Per level, metric and learned system: where it stands against the classical
    envelope (BPG + LDPC, best MCS; the paper's fixed scheme when the envelope is not in
    the run) and against BPG + capacity, with the numbers."""
    present = {r["scheme"] for r in results}
    reference = "bpg-ldpc-best" if "bpg-ldpc-best" in present else "bpg-ldpc"
    lines = []
    for level in sorted({r["levels"] for r in results}):
        def rows_of(scheme):
            return _rows_of(results, scheme, level)

        for metric in ("psnr", "lpips", "dists"):
            for system in SUMMARY_SYSTEMS:
                ours = rows_of(system)
                if not ours or any(metric not in r for r in ours.values()):
                    continue
                parts = [f"vs {_label(results, ref)}: {_standing(ours, rows_of(ref), metric)}"
                         for ref in (reference, "bpg-capacity") if rows_of(ref)]
                if parts:
                    lines.append(f"L{level} (CBR {_cbr(results, level)}), "
                                 f"{METRIC_LABELS[metric].split(' ')[0]}, "
                                 f"{_label(results, system)} " + "; ".join(parts))
    return lines


def mode_lines(results):
    """Per budget: the SNR-adaptive rows against fixed 64-QAM at the same symbols (the
    plain MOC-RVQ rows), metric by metric, with the mode picked at each Es/N0."""
    lines = []
    for level in sorted({r["levels"] for r in results}):
        auto, fixed = _rows_of(results, "moc-rvq-auto", level), _rows_of(results, "moc-rvq", level)
        if not auto or not fixed:
            continue
        picks = ", ".join(f"{s:g} dB {auto[s].get('mode', '?')}" for s in sorted(auto))
        lines.append(f"L{level} (CBR {_cbr(results, level)}), modes picked: {picks}")
        for metric in ("psnr", "lpips", "dists"):
            if any(metric not in r for r in auto.values()):
                continue
            fmt = "{:+.2f}" if metric == "psnr" else "{:+.3f}"
            deltas = ", ".join(
                f"{s:g} dB {fmt.format(auto[s][metric] - fixed[s][metric])}"
                for s in sorted(set(auto) & set(fixed)))
            lines.append(f"L{level} (CBR {_cbr(results, level)}), "
                         f"{METRIC_LABELS[metric].split(' ')[0]}, "
                         f"{_label(results, 'moc-rvq-auto')} minus {_label(results, 'moc-rvq')}"
                         f" at L{level} on 64-QAM: {deltas}")
    return lines


def _column(snr):
    return "noiseless" if snr is None else f"{snr:g} dB"


def markdown(results, meta, figures, doc_dir, csv_path=None):
    """The report: command, model identity, wall time, summary, figures and tables."""
    present = {r["scheme"] for r in results}
    others = [name for name, schemes in (
        ("deep JSCC", ("deep-jscc", "deep-jscc-mse")),
        ("VQ-DeepSC", ("vq-deepsc", "vq-deepsc-uncoded")),
        ("JPEG and BPG over LDPC + QAM", ("bpg-capacity",) + LINK_SCHEMES))
        if present & set(schemes)]
    lines = ["# Results: MOC-RVQ against " + (" and ".join(others) or "itself"), "",
             "Written by `semcom eval`; rerun it to reproduce every number here.", "",
             f"- Command: `{meta['command']}`",
             f"- Model: `{meta['weights']}`, sha256 `{meta['weights_sha256']}`"
             + "".join(f"; `{path}`" for path in meta.get("jscc_weights", []))
             + (f"; transmission modes: `{meta['mode_weights']}`, sha256 "
                f"`{meta['mode_weights_sha256']}`" if meta.get("mode_weights") else ""),
             f"- Data: {meta['images']} images from `{meta['folder']}`; channel "
             f"{meta['channel']}" + (f" (K = {meta['k_factor']:g}, block length "
                                     f"{meta['block_length']})" if meta['channel'] != "awgn" else "")
             + f"; seed {meta['seed']}",
             f"- Wall time: {meta['wall_seconds'] / 60:.1f} min for this run on "
             f"{meta['threads']} threads; computing all points took "
             f"{meta['point_seconds'] / 60:.1f} min (a rerun reuses the points in its run folder)"]
    if csv_path:
        lines.append(f"- Every figure below as a table: "
                     f"[{os.path.basename(csv_path)}]({os.path.relpath(csv_path, doc_dir)})")
    lines += ["",
             "Every scheme sends, per image, the complex symbols MOC-RVQ sends at the same level "
             "(CBR = L/96) and meets the same noise. JPEG and BPG (HEVC intra, 4:4:4, charged "
             "for the HEVC bitstream) take the highest quality that fits the payload of an "
             "802.11n n = 648 LDPC code and Gray QAM: the paper's fixed 64-QAM rate 1/2; "
             "\"best MCS\", the best of BPSK / QPSK / 16-QAM / 64-QAM with rate 1/2, 2/3, 3/4 "
             "or 5/6 whose bitstream decodes, per image and SNR (the envelope deep JSCC papers "
             "compare against); \"rate-adaptive\", the scheme a link picks from the SNR "
             "thresholds of `semcom link-curves` (docs/LINK_CURVES.md). BPG + capacity takes "
             "the highest quality that fits symbols x log2(1 + SNR) bits with no errors. A "
             "bitstream with any residual error after LDPC decoding is a failed image, scored "
             "as mid-grey. Perceptual deep JSCC and deep JSCC (MSE) (analog, "
             "the shipped models at CBR 1/48 and 1/24) sit in the L2 and L4 tables: the "
             "same number of symbols, on the same noise samples, decoded with the Es/N0 "
             "known.", "", "## Summary", "", "In short:", ""]
    lines += [f"- {line}" for line in headline_lines(results)]
    lines += ["", "Per CBR, metric and learned system, with the figures (ours vs theirs):", ""]
    lines += [f"- {line}" for line in summary_lines(results)]
    lines += [""]
    modes = mode_lines(results)
    if modes:
        lines += ["Transmission modes (MOC-RVQ sending fewer levels on sturdier index "
                  "constellations in the same symbols; \"SNR-adaptive\" picks the mode from "
                  "the Es/N0 table measured on validation images and shipped in the modes "
                  "weights, hard demapping, the receiver told mode and Es/N0; differences "
                  "against the plain rows, positive PSNR and negative LPIPS / DISTS are "
                  "better):", ""]
        lines += [f"- {line}" for line in modes]
        lines += [""]
    for path in figures:
        rel = os.path.relpath(path, doc_dir)
        lines += [f"![{os.path.basename(path)}]({rel})", ""]
    levels = sorted({r["levels"] for r in results})
    snrs = sorted({r["esn0_db"] for r in results},
                  key=lambda s: (s is not None, s if s is not None else 0.0))
    for level in levels:
        lines += [f"## L{level} (CBR {_cbr(results, level)})", ""]
        schemes = [s for s in dict.fromkeys(r["scheme"] for r in results if r["levels"] == level)]
        for metric in METRIC_LABELS:
            lines += [f"{METRIC_LABELS[metric]}:", "",
                      "| scheme | " + " | ".join(map(_column, snrs)) + " |",
                      "| --- |" + " --- |" * len(snrs)]
            for scheme in schemes:
                cells = {r["esn0_db"]: r for r in results
                         if r["scheme"] == scheme and r["levels"] == level}
                fmt = "{:.2f}" if metric == "psnr" else "{:.4f}"
                lines.append(f"| {_label(results, scheme)} | " + " | ".join(
                    fmt.format(cells[s][metric]) if s in cells else "-" for s in snrs) + " |")
            lines.append("")
        if "moc-rvq-auto" in schemes:
            cells = {r["esn0_db"]: r for r in results
                     if r["scheme"] == "moc-rvq-auto" and r["levels"] == level}
            lines += ["SNR-adaptive MOC-RVQ: the mode picked (most images):", "",
                      "| | " + " | ".join(map(_column, snrs)) + " |",
                      "| --- |" + " --- |" * len(snrs),
                      "| mode | " + " | ".join(cells[s].get("mode", "-") if s in cells else "-"
                                             for s in snrs) + " |", ""]
        links = [s for s in LINK_SCHEMES if s in schemes]
        if links:
            lines += ["Classical links: share of images delivered, and the scheme used most "
                      "(bits per symbol = modulation bits x code rate):", "",
                      "| link | " + " | ".join(map(_column, snrs)) + " |",
                      "| --- |" + " --- |" * len(snrs)]
            for scheme in links:
                cells = {r["esn0_db"]: r for r in results
                         if r["scheme"] == scheme and r["levels"] == level}
                lines.append(f"| {_label(results, scheme)} | " + " | ".join(
                    (f"{cells[s]['delivered']:.2f}" + (f" {cells[s]['mcs']}"
                                                       if cells[s].get("mcs") else ""))
                    if s in cells else "-" for s in snrs) + " |")
            lines.append("")
    return "\n".join(lines)
