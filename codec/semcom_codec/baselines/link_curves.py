"""Frame error rate of every scheme of the classical link over AWGN, and the SNR
thresholds a rate-adaptive link picks its scheme by.

A frame is one 648-bit codeword; it is in error when any of its information bits is
wrong after belief propagation (what an image bitstream cares about). A scheme's
threshold is the lowest Es/N0 on a grid of ``step`` dB, searched upwards from its
Shannon limit, at which ``frames`` frames arrive without one error; the table the
project ships (thresholds.json beside this module) is written by `semcom link-curves`.
"""

import json
import math
import os
import time

import numpy as np

from ..phy.channels import Realisation
from .link import MCS_TABLE, Mcs

THRESHOLDS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "thresholds.json")
_BATCH = 256


def shannon_limit_db(efficiency):
    """Es/N0 (dB) at which log2(1 + SNR) equals ``efficiency`` bits per symbol."""
    return 10.0 * math.log10(2.0 ** efficiency - 1.0)


def frame_errors(mcs, esn0_db, frames, seed=0, max_errors=100, max_iterations=50):
    """(frame errors, bit errors, frames sent) of up to ``frames`` random codewords of
    ``mcs`` through AWGN at ``esn0_db``; it stops after the batch that reaches
    ``max_errors`` frame errors (enough to estimate a high FER)."""
    code = mcs.code
    rng = np.random.default_rng(seed)
    errors = bit_errors = sent_frames = 0
    while sent_frames < frames and errors < max_errors:
        count = min(_BATCH, frames - sent_frames)
        info = rng.integers(0, 2, (count, code.k)).astype(np.uint8)
        sent = mcs.modulate(code.encode(info).reshape(-1))
        channel = Realisation(len(sent), seed=int(rng.integers(2 ** 31)))
        received, n0 = channel.apply(sent, esn0_db)
        decoded, _, _ = code.decode(mcs.llrs(received, n0).numpy().reshape(count, code.n),
                                    max_iterations)
        wrong = decoded[:, :code.k] != info
        errors += int(wrong.any(axis=1).sum())
        bit_errors += int(wrong.sum())
        sent_frames += count
    return errors, bit_errors, sent_frames


def threshold_search(mcs, frames, step=0.25, seed=0, highest_db=40.0):
    """The measured curve of ``mcs`` from its Shannon limit up to its threshold:
    {"threshold_db", "points": [[Es/N0, FER, BER], ...]}."""
    esn0 = math.floor(shannon_limit_db(mcs.efficiency) / step) * step
    points = []
    while esn0 <= highest_db:
        errors, bit_errors, sent = frame_errors(mcs, esn0, frames, seed)
        points.append([esn0, errors / sent, bit_errors / (sent * mcs.code.k)])
        if errors == 0:
            return {"threshold_db": esn0, "points": points}
        esn0 = round(esn0 + step, 6)
    raise RuntimeError(f"{mcs.label} still loses frames at {highest_db} dB")


def measure_table(frames=1000, step=0.25, seed=0, schemes=MCS_TABLE, progress=None):
    """The curves and thresholds of ``schemes``: the content of thresholds.json."""
    table = {"frames": frames, "step_db": step, "seed": seed, "channel": "awgn",
             "criterion": f"lowest Es/N0 on a {step} dB grid with no frame error in "
                          f"{frames} frames", "schemes": {}}
    for mcs in schemes:
        began = time.perf_counter()
        table["schemes"][mcs.name] = threshold_search(mcs, frames, step, seed)
        table["schemes"][mcs.name]["seconds"] = round(time.perf_counter() - began, 1)
        if progress:
            progress(mcs, table["schemes"][mcs.name])
    return table


def load_thresholds(path=THRESHOLDS_PATH):
    """{Mcs: threshold Es/N0 dB} of a table written by `semcom link-curves`."""
    try:
        with open(path) as f:
            table = json.load(f)
        return {Mcs.parse(name): float(entry["threshold_db"])
                for name, entry in table["schemes"].items()}
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a threshold table of `semcom link-curves` "
                         f"({err})") from err


def adaptive_mcs(esn0_db, thresholds):
    """The scheme a rate-adaptive link picks at ``esn0_db``: the most information bits per
    symbol among those whose threshold it reaches (the lower threshold on a tie); None
    when it reaches none."""
    usable = [m for m, t in thresholds.items() if t <= esn0_db]
    if not usable:
        return None
    return max(usable, key=lambda m: (m.efficiency, -thresholds[m]))


def markdown(table):
    """The thresholds and curves as Markdown."""
    lines = ["| scheme | bits / symbol | Shannon limit (dB) | threshold (dB) | gap (dB) |",
             "| --- | --- | --- | --- | --- |"]
    for name, entry in table["schemes"].items():
        mcs = Mcs.parse(name)
        limit = shannon_limit_db(mcs.efficiency)
        lines.append(f"| {mcs.label} | {mcs.efficiency:.3g} | {limit:.2f} | "
                     f"{entry['threshold_db']:.2f} | {entry['threshold_db'] - limit:.2f} |")
    lines += ["", "Frame error rate (FER) and bit error rate (BER) against Es/N0:", "",
              "| scheme | Es/N0 dB: FER (BER) |", "| --- | --- |"]
    for name, entry in table["schemes"].items():
        cells = ", ".join(f"{snr:g}: {fer:.3g} ({ber:.2g})" for snr, fer, ber in entry["points"])
        lines.append(f"| {Mcs.parse(name).label} | {cells} |")
    return "\n".join(lines) + "\n"


def write(table, command, json_path=None, markdown_path=None):
    """The table as JSON (what load_thresholds reads) and as a Markdown page naming the
    command that measured it."""
    if json_path:
        with open(json_path, "w") as f:
            json.dump(table, f, indent=1)
            f.write("\n")
    if markdown_path:
        with open(markdown_path, "w") as f:
            f.write(f"# Classical link: FER and thresholds of the 802.11n n = 648 schemes\n\n"
                    f"Written by `{command}` (AWGN, seed {table['seed']}); "
                    f"threshold: {table['criterion']}.\n\n" + markdown(table))
