#!/usr/bin/env python3
"""Write gray_qam_vectors.json: reference index-pair -> symbol vectors for Gray N^2-QAM.

Computed from literal Gray label tables with the stdlib only, deliberately not from
semcom_codec.phy.constellation, so that the torch mapper (codec tests) and the C++ mapper
(GNU Radio QA) are both checked against an independent source.

Format: {"N": {"indices": [[first, second], ...], "symbols": [[re, im], ...]}, ...};
first index on I, second on Q, amplitudes rounded to 7 decimals.
"""

import json
import math
import os

# Index label carried by PAM position p = 0..N-1 (ascending amplitude), written out.
GRAY_LABEL_BY_POSITION = {
    2: [0, 1],
    4: [0, 1, 3, 2],
    8: [0, 1, 3, 2, 6, 7, 5, 4],
    16: [0, 1, 3, 2, 6, 7, 5, 4, 12, 13, 15, 14, 10, 11, 9, 8],
}


def amplitude(order, label):
    """Unit-energy amplitude of the PAM position that carries ``label``."""
    p = GRAY_LABEL_BY_POSITION[order].index(label)
    return (2 * p - (order - 1)) / math.sqrt(2 * (order * order - 1) / 3)


def index_pairs(order):
    """Every pair for N <= 8; for N = 16 a fixed set of 74 distinct pairs that puts every
    label on I and on Q several times (all 256 would add little)."""
    if order <= 8:
        return [[a, b] for a in range(order) for b in range(order)]
    pairs = []
    for a in range(order):
        for b in (a, (5 * a + 3) % order, order - 1 - a):
            pairs.append([a, b])
    for b in range(order):
        pairs.append([(7 * b + 1) % order, b])
        pairs.append([(3 * b + 2) % order, b])
    seen, unique = set(), []
    for pair in pairs:
        if tuple(pair) not in seen:
            seen.add(tuple(pair))
            unique.append(pair)
    return unique


def vectors():
    out = {}
    for order in sorted(GRAY_LABEL_BY_POSITION):
        pairs = index_pairs(order)
        symbols = [[round(amplitude(order, a), 7), round(amplitude(order, b), 7)] for a, b in pairs]
        out[str(order)] = {"indices": pairs, "symbols": symbols}
    return out


def render(data):
    """JSON with one vector per line, so that diffs stay readable."""
    blocks = []
    for order, table in data.items():
        idx = ",\n      ".join(json.dumps(p) for p in table["indices"])
        sym = ",\n      ".join(json.dumps(s) for s in table["symbols"])
        blocks.append(f'  "{order}": {{\n    "indices": [\n      {idx}\n    ],\n'
                      f'    "symbols": [\n      {sym}\n    ]\n  }}')
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gray_qam_vectors.json")
    with open(path, "w") as f:
        f.write(render(vectors()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
