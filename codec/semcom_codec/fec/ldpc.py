"""The IEEE 802.11n LDPC codes (n = 648, Z = 27; rates 1/2, 2/3, 3/4, 5/6) of the
classical baselines.

The paper's JPEG and BPG references protect their bitstreams with the rate-1/2 code; the
best-scheme envelope picks among all four rates. The project carries the standard's base
matrices (IEEE 802.11n-2009 Annex R, Table R.1) and expands them: entry -1 is a zero
27 x 27 block, entry s >= 0 the identity cyclically shifted by s columns. Columns are in
the standard's order, the k information bits first, so encoding is systematic.

Decoding is belief propagation (sum-product, flooding schedule) on log-likelihood ratios
LLR = log P(bit = 0) / P(bit = 1), vectorised over many codewords at once in numpy, with
each codeword leaving the batch as soon as its syndrome is zero.
"""

import numpy as np
from scipy import sparse

Z = 27
BASE_MATRIX_N648_R12 = np.array([
    [0, -1, -1, -1, 0, 0, -1, -1, 0, -1, -1, 0, 1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [22, 0, -1, -1, 17, -1, 0, 0, 12, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1],
    [6, -1, 0, -1, 10, -1, -1, -1, 24, -1, 0, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1],
    [2, -1, -1, 0, 20, -1, -1, -1, 25, 0, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1, -1],
    [23, -1, -1, -1, 3, -1, -1, -1, 0, -1, 9, 11, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1, -1],
    [24, -1, 23, 1, 17, -1, 3, -1, 10, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1],
    [25, -1, -1, -1, 8, -1, -1, -1, 7, 18, -1, -1, 0, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1],
    [13, 24, -1, -1, 0, -1, 8, -1, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1],
    [7, 20, -1, 16, 22, 10, -1, -1, 23, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1],
    [11, -1, -1, -1, 19, -1, -1, -1, 13, -1, 3, 17, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1],
    [25, -1, 8, -1, 23, 18, -1, 14, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0],
    [3, -1, -1, -1, 16, -1, -1, 2, 25, 5, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0],
], dtype=np.int64)

BASE_MATRIX_N648_R23 = np.array([
    [25, 26, 14, -1, 20, -1, 2, -1, 4, -1, -1, 8, -1, 16, -1, 18, 1, 0, -1, -1, -1, -1, -1, -1],
    [10, 9, 15, 11, -1, 0, -1, 1, -1, -1, 18, -1, 8, -1, 10, -1, -1, 0, 0, -1, -1, -1, -1, -1],
    [16, 2, 20, 26, 21, -1, 6, -1, 1, 26, -1, 7, -1, -1, -1, -1, -1, -1, 0, 0, -1, -1, -1, -1],
    [10, 13, 5, 0, -1, 3, -1, 7, -1, -1, 26, -1, -1, 13, -1, 16, -1, -1, -1, 0, 0, -1, -1, -1],
    [23, 14, 24, -1, 12, -1, 19, -1, 17, -1, -1, -1, 20, -1, 21, -1, 0, -1, -1, -1, 0, 0, -1, -1],
    [6, 22, 9, 20, -1, 25, -1, 17, -1, 8, -1, 14, -1, 18, -1, -1, -1, -1, -1, -1, -1, 0, 0, -1],
    [14, 23, 21, 11, 20, -1, 24, -1, 18, -1, 19, -1, -1, -1, -1, 22, -1, -1, -1, -1, -1, -1, 0, 0],
    [17, 11, 11, 20, -1, 21, -1, 26, -1, 3, -1, -1, 18, -1, 26, -1, 1, -1, -1, -1, -1, -1, -1, 0],
], dtype=np.int64)
BASE_MATRIX_N648_R34 = np.array([
    [16, 17, 22, 24, 9, 3, 14, -1, 4, 2, 7, -1, 26, -1, 2, -1, 21, -1, 1, 0, -1, -1, -1, -1],
    [25, 12, 12, 3, 3, 26, 6, 21, -1, 15, 22, -1, 15, -1, 4, -1, -1, 16, -1, 0, 0, -1, -1, -1],
    [25, 18, 26, 16, 22, 23, 9, -1, 0, -1, 4, -1, 4, -1, 8, 23, 11, -1, -1, -1, 0, 0, -1, -1],
    [9, 7, 0, 1, 17, -1, -1, 7, 3, -1, 3, 23, -1, 16, -1, -1, 21, -1, 0, -1, -1, 0, 0, -1],
    [24, 5, 26, 7, 1, -1, -1, 15, 24, 15, -1, 8, -1, 13, -1, 13, -1, 11, -1, -1, -1, -1, 0, 0],
    [2, 2, 19, 14, 24, 1, 15, 19, -1, 21, -1, 2, -1, 24, -1, 3, -1, 2, 1, -1, -1, -1, -1, 0],
], dtype=np.int64)
BASE_MATRIX_N648_R56 = np.array([
    [17, 13, 8, 21, 9, 3, 18, 12, 10, 0, 4, 15, 19, 2, 5, 10, 26, 19, 13, 13, 1, 0, -1, -1],
    [3, 12, 11, 14, 11, 25, 5, 18, 0, 9, 2, 26, 26, 10, 24, 7, 14, 20, 4, 2, -1, 0, 0, -1],
    [22, 16, 4, 3, 10, 21, 12, 5, 21, 14, 19, 5, -1, 8, 5, 18, 11, 5, 5, 15, 0, -1, 0, 0],
    [7, 7, 14, 14, 4, 16, 16, 24, 24, 10, 1, 7, 15, 6, 10, 26, 8, 18, 21, 14, 1, -1, -1, 0],
], dtype=np.int64)

BASE_MATRICES = {"1/2": BASE_MATRIX_N648_R12, "2/3": BASE_MATRIX_N648_R23,
                 "3/4": BASE_MATRIX_N648_R34, "5/6": BASE_MATRIX_N648_R56}
RATES = tuple(BASE_MATRICES)

# Larger |LLR| carry no information for the decoder and would overflow the phi function.
_LLR_CLIP = 30.0


def expand(base, z):
    """The binary parity-check matrix (uint8) of a quasi-cyclic base matrix."""
    base = np.asarray(base)
    h = np.zeros((base.shape[0] * z, base.shape[1] * z), dtype=np.uint8)
    rows = np.arange(z)
    for i, j in zip(*np.nonzero(base >= 0)):
        h[i * z + rows, j * z + (rows + base[i, j]) % z] = 1
    return h


def gf2_solve(a, b):
    """X with A X = B over GF(2), A square and invertible (uint8 arrays)."""
    a = a.astype(np.uint8).copy()
    b = b.astype(np.uint8).copy()
    n = a.shape[0]
    for col in range(n):
        pivots = np.nonzero(a[col:, col])[0]
        if len(pivots) == 0:
            raise ValueError("the parity part of the matrix is singular over GF(2)")
        p = col + pivots[0]
        if p != col:
            a[[col, p]] = a[[p, col]]
            b[[col, p]] = b[[p, col]]
        others = np.nonzero(a[:, col])[0]
        others = others[others != col]
        a[others] ^= a[col]
        b[others] ^= b[col]
    return b


def gf2_inverse(a):
    """The inverse (uint8) of a square matrix over GF(2), by Gauss-Jordan on rows packed
    eight bits a byte (a 1536 x 1536 core inverts in about a second)."""
    a = np.asarray(a, dtype=np.uint8)
    n = a.shape[0]
    if a.shape != (n, n):
        raise ValueError(f"expected a square matrix, got {a.shape}")
    rows = np.packbits(np.concatenate([a, np.eye(n, dtype=np.uint8)], axis=1), axis=1)
    for col in range(n):
        byte, bit = divmod(col, 8)
        mask = np.uint8(0x80 >> bit)
        candidates = np.flatnonzero(rows[col:, byte] & mask)
        if candidates.size == 0:
            raise ValueError("the matrix is singular over GF(2)")
        pivot = col + candidates[0]
        if pivot != col:
            rows[[col, pivot]] = rows[[pivot, col]]
        others = np.flatnonzero(rows[:, byte] & mask)
        others = others[others != col]
        rows[others] ^= rows[col]
    return np.unpackbits(rows, axis=1)[:, n:2 * n]


def _phi(x):
    """phi(x) = -log tanh(x / 2), its own inverse on x > 0."""
    x = np.clip(x, 1e-7, _LLR_CLIP)
    return -np.log(np.tanh(0.5 * x))


class LdpcCode:
    """A systematic binary LDPC code: encode info bits, decode channel LLRs."""

    def __init__(self, h):
        """``h``: the parity-check matrix, dense uint8 (then encoding solves for the
        parity) or scipy sparse (a code with structure of its own, such as 5G NR's,
        whose subclass encodes)."""
        self.h = h.tocsr() if sparse.issparse(h) else np.asarray(h, dtype=np.uint8)
        self.m, self.n = self.h.shape
        self.k = self.n - self.m
        # Systematic encoding of a dense code: parity p solves H_p p = H_s u.
        self._parity_of_info = None if sparse.issparse(h) else gf2_solve(
            self.h[:, self.k:], self.h[:, :self.k]).astype(np.float32)
        # Edges as a [m, max row degree] table of variable indices; padding points at a
        # spare variable n whose message is always "certainly 0".
        rows = sparse.csr_matrix(self.h)
        rows.sort_indices()
        degrees = np.diff(rows.indptr)
        self.max_degree = int(degrees.max())
        self.edge_var = np.full((self.m, self.max_degree), self.n, dtype=np.int64)
        slot = np.arange(rows.nnz) - np.repeat(rows.indptr[:-1], degrees)
        self.edge_var[np.repeat(np.arange(self.m), degrees), slot] = rows.indices
        self.padding = self.edge_var == self.n
        real = ~self.padding.ravel()
        flat_var = self.edge_var.ravel()
        # Sums messages per variable: [n, m * max_degree] @ [m * max_degree, B].
        self._gather = sparse.csr_matrix(
            (np.ones(int(real.sum()), np.float32), (flat_var[real], np.nonzero(real)[0])),
            shape=(self.n, self.m * self.max_degree))

    def encode(self, info):
        """Codewords [B, n] (uint8) of info bits [B, k]; the first k bits are ``info``."""
        info = np.atleast_2d(np.asarray(info, dtype=np.uint8))
        if info.shape[-1] != self.k:
            raise ValueError(f"LDPC encoding needs {self.k} info bits per codeword, "
                             f"got {info.shape[-1]}")
        parity = (info.astype(np.float32) @ self._parity_of_info.T) % 2
        return np.concatenate([info, parity.astype(np.uint8)], axis=1)

    def syndrome_ok(self, bits):
        """True per codeword whose hard bits [B, n] satisfy every parity check."""
        padded = np.concatenate([bits, np.zeros((bits.shape[0], 1), bits.dtype)], axis=1)
        return ~np.any(np.bitwise_xor.reduce(padded[:, self.edge_var], axis=2), axis=1)

    def decode(self, llr, max_iterations=50):
        """Sum-product decoding of channel LLRs [B, n].

        Returns (bits [B, n] uint8, converged [B] bool, iterations [B]): a codeword that
        meets all checks stops early; one that never does keeps its last hard decision.
        """
        llr = np.atleast_2d(np.asarray(llr, dtype=np.float32))
        if llr.shape[-1] != self.n:
            raise ValueError(f"LDPC decoding needs {self.n} LLRs per codeword, "
                             f"got {llr.shape[-1]}")
        if not np.all(np.isfinite(llr)):
            raise ValueError("LDPC decoding got non-finite LLRs")
        llr = np.clip(llr, -_LLR_CLIP, _LLR_CLIP)
        batch = llr.shape[0]
        bits = (llr < 0).astype(np.uint8)
        converged = self.syndrome_ok(bits)
        iterations = np.zeros(batch, dtype=np.int64)
        active = np.nonzero(~converged)[0]
        channel = llr[active]
        # Variable-to-check messages start as the channel LLRs.
        q = np.concatenate([channel, np.full((len(active), 1), _LLR_CLIP, np.float32)],
                           axis=1)[:, self.edge_var]
        for it in range(1, max_iterations + 1):
            if len(active) == 0:
                break
            # Check-to-variable: sign product and phi-sum, each excluding the edge itself.
            negative = q < 0
            parity = np.bitwise_xor.reduce(negative, axis=2, keepdims=True)
            magnitude = _phi(np.abs(q))
            total = magnitude.sum(axis=2, keepdims=True)
            r = _phi(total - magnitude)
            r = np.where(negative ^ parity, -r, r)
            r[:, self.padding] = 0.0
            # Variable totals and hard decisions.
            posterior = channel + (self._gather @ r.reshape(len(active), -1).T).T
            hard = (posterior < 0).astype(np.uint8)
            done = self.syndrome_ok(hard)
            bits[active] = hard
            iterations[active] = it
            converged[active[done]] = True
            keep = ~done
            active, channel, posterior, r = active[keep], channel[keep], posterior[keep], r[keep]
            q = np.concatenate([posterior, np.full((len(active), 1), _LLR_CLIP, np.float32)],
                               axis=1)[:, self.edge_var] - r
            q[:, self.padding] = _LLR_CLIP
        return bits, converged, iterations


_CODES = {}


def wifi_n648(rate="1/2"):
    """The 802.11n n = 648 code of ``rate`` ("1/2", "2/3", "3/4" or "5/6"), built once per
    process."""
    if rate not in BASE_MATRICES:
        raise ValueError(f"802.11n n = 648 LDPC rates are {', '.join(RATES)}, not {rate!r}")
    if rate not in _CODES:
        _CODES[rate] = LdpcCode(expand(BASE_MATRICES[rate], Z))
    return _CODES[rate]


def wifi_n648_r12():
    """The 802.11n n = 648, k = 324 code of the paper's baselines."""
    return wifi_n648("1/2")


def read_alist(path):
    """The parity-check matrix (uint8) of an alist file (for cross-checks).

    Reads the column lists line by line, so both zero-padded and unpadded files work.
    """
    with open(path) as f:
        lines = [line.split() for line in f if line.strip()]
    n, m = int(lines[0][0]), int(lines[0][1])
    h = np.zeros((m, n), dtype=np.uint8)
    for col, line in enumerate(lines[4:4 + n]):
        for row in (int(v) for v in line):
            if row > 0:
                h[row - 1, col] = 1
    return h
