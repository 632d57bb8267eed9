"""5G NR LDPC, base graph 1 (3GPP TS 38.212 section 5.3.2): the rate-1/3 code of the
VQ-DeepSC link, with the standard's segmentation and rate matching.

BG1 has 46 x 68 base entries and K = 22 Z information bits per codeword; the first 2 Z
systematic bits are never sent, so the mother code is 22 Z bits in 66 Z: rate 1/3
exactly. The base graph is read at run time from 5G_bg1.csv (the standard's Table
5.3.2-2: row, column, then the shift for each of the eight lifting-size sets), in
$SEMCOM_LDPC_DIR or ../shared/ldpc beside the repository.

A message of B bits is cut into C = ceil(B / 8448) codewords of K' = ceil(B / C) bits
each (the last padded), every codeword's unused information positions being filler bits
(known zeros, never sent). Rate matching takes the E_r bits of codeword r from its
circular buffer (the 66 Z sent positions less the fillers) from position 0 (redundancy
version 0), wrapping round, so that the message fills exactly the G coded bits given:
G = 3 B is the mother rate, fewer bits puncture the last parity, more repeat from the
start. Not modelled: the segments' CRC (a VQ stream keeps decoding through residual
errors) and the bit interleaver. Encoding uses the graph's structure: the 4 Z core
parity bits from the (inverted) core, the other 42 Z one check each.
"""

import functools
import math
import os

import numpy as np
from scipy import sparse

from .ldpc import LdpcCode, gf2_inverse

BG1_ROWS, BG1_COLUMNS, BG1_INFO_COLUMNS = 46, 68, 22
CORE_ROWS = 4
MAX_INFO_BITS = 8448  # K_cb of BG1: 22 x 384
BG1_FILE = "5G_bg1.csv"
# Lifting-size sets (TS 38.212 Table 5.3.2-1): set index -> a; the set holds a * 2^j.
LIFTING_SET_BASES = (2, 3, 5, 7, 9, 11, 13, 15)
MAX_LIFTING = 384
# |LLR| of a filler bit: certainly 0 (the decoder clips at this anyway).
KNOWN_BIT_LLR = 30.0


def lifting_sizes():
    """{Z: set index} of every lifting size of TS 38.212 Table 5.3.2-1."""
    sizes = {}
    for index, a in enumerate(LIFTING_SET_BASES):
        z = a
        while z <= MAX_LIFTING:
            sizes[z] = index
            z *= 2
    return dict(sorted(sizes.items()))


def ldpc_dir():
    if os.environ.get("SEMCOM_LDPC_DIR"):
        return os.environ["SEMCOM_LDPC_DIR"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "..", "shared", "ldpc"))


@functools.lru_cache(maxsize=None)
def read_base_graph(path=None):
    """int [46, 68, 8]: the shift of each BG1 entry per lifting-size set, -1 where the
    base graph has no entry. FileNotFoundError / ValueError name the file."""
    path = path or os.path.join(ldpc_dir(), BG1_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"5G NR LDPC base graph not found: {path} (the VQ-DeepSC link needs it; set "
            "SEMCOM_LDPC_DIR to the folder holding 5G_bg1.csv)")
    graph = np.full((BG1_ROWS, BG1_COLUMNS, len(LIFTING_SET_BASES)), -1, dtype=np.int64)
    row = None
    with open(path) as f:
        lines = f.read().splitlines()[2:]
    for number, line in enumerate(lines, start=3):
        fields = line.split(";")
        try:
            if fields[0].strip():
                row = int(fields[0])
            col = int(fields[1])
            shifts = [int(v) for v in fields[2:2 + len(LIFTING_SET_BASES)]]
        except (IndexError, ValueError):
            raise ValueError(f"{path} line {number}: not 'row;column;8 shifts'") from None
        if row is None or not (0 <= row < BG1_ROWS and 0 <= col < BG1_COLUMNS) or \
                len(shifts) != len(LIFTING_SET_BASES) or min(shifts) < 0:
            raise ValueError(f"{path} line {number}: entry outside the 46 x 68 base graph")
        graph[row, col] = shifts
    return graph


class NrLdpcCode(LdpcCode):
    """The BG1 code of lifting size ``z``: codewords of 68 z bits, 22 z of them
    information (systematic, first), 46 z parity; belief-propagation decoding."""

    def __init__(self, z, graph=None):
        sizes = lifting_sizes()
        if z not in sizes:
            raise ValueError(f"{z} is not a 5G NR lifting size ({', '.join(map(str, sizes))})")
        graph = read_base_graph() if graph is None else graph
        shifts = graph[:, :, sizes[z]]
        super().__init__(expand_sparse(np.where(shifts >= 0, shifts % z, -1), z))
        self.z = z
        core = CORE_ROWS * z
        info = BG1_INFO_COLUMNS * z
        extension = self.h[core:, info + core:]
        if (extension != sparse.identity(self.m - core, format="csr")).nnz:
            raise ValueError("base graph: the extension parity part is not an identity")
        self._core_info = self.h[:core, :info].astype(np.float32)
        self._core_inverse = gf2_inverse(
            self.h[:core, info:info + core].toarray()).astype(np.float32)
        self._extension = self.h[core:, :info + core].astype(np.float32)

    def encode(self, info):
        """Codewords [B, 68 z] (uint8) of info bits [B, 22 z]."""
        info = np.atleast_2d(np.asarray(info, dtype=np.uint8))
        if info.shape[-1] != self.k:
            raise ValueError(f"5G NR LDPC (Z = {self.z}) encodes {self.k} info bits per "
                             f"codeword, got {info.shape[-1]}")
        u = info.astype(np.float32)
        syndrome = (self._core_info @ u.T) % 2                   # [4z, B]
        core = (self._core_inverse @ syndrome) % 2                # [4z, B]
        head = np.concatenate([u.T, core], axis=0)
        extension = (self._extension @ head) % 2                  # [42z, B]
        return np.concatenate([head, extension], axis=0).T.astype(np.uint8)


def expand_sparse(base, z):
    """The parity-check matrix (scipy CSR, uint8) of a quasi-cyclic base matrix: entry -1
    a zero z x z block, s >= 0 the identity shifted by s columns (as ldpc.expand)."""
    i, j = np.nonzero(base >= 0)
    r = np.arange(z)
    rows = (i[:, None] * z + r).ravel()
    cols = (j[:, None] * z + (r + base[i, j][:, None]) % z).ravel()
    shape = (base.shape[0] * z, base.shape[1] * z)
    return sparse.csr_matrix((np.ones(rows.size, np.uint8), (rows, cols)), shape=shape)


@functools.lru_cache(maxsize=None)
def nr_bg1(z):
    """The BG1 code of lifting size z, built once per process."""
    return NrLdpcCode(z)


def smallest_lifting(info_bits):
    """The smallest Z with 22 Z >= info_bits (TS 38.212 5.3.2: the codeword's Z)."""
    for z in lifting_sizes():
        if BG1_INFO_COLUMNS * z >= info_bits:
            return z
    raise ValueError(f"{info_bits} bits exceed one BG1 codeword ({MAX_INFO_BITS})")


class NrLdpcLink:
    """B message bits <-> exactly G coded bits: segmentation, BG1 encoding, filler
    bits and rate matching, and their inverse on LLRs (repeated bits add, punctured
    and unsent bits count 0, fillers certainly 0)."""

    def __init__(self, info_bits, coded_bits):
        if info_bits < 1:
            raise ValueError(f"an LDPC message needs at least one bit, got {info_bits}")
        if coded_bits < info_bits:
            raise ValueError(f"{coded_bits} coded bits cannot carry {info_bits} information "
                             "bits (code rate above 1)")
        self.info_bits, self.coded_bits = int(info_bits), int(coded_bits)
        self.segments = math.ceil(self.info_bits / MAX_INFO_BITS)
        self.segment_info = math.ceil(self.info_bits / self.segments)
        self.z = smallest_lifting(self.segment_info)
        self.code = nr_bg1(self.z)
        c, g = self.segments, self.coded_bits
        self.sent = [g // c + (1 if r < g % c else 0) for r in range(c)]
        # Per segment: the codeword position of each coded bit it sends.
        self.positions = []
        for r in range(c):
            buffer = np.concatenate([np.arange(2 * self.z, self._real_bits(r)),
                                     np.arange(self.code.k, self.code.n)])
            self.positions.append(buffer[np.arange(self.sent[r]) % len(buffer)])

    @property
    def rate(self):
        return self.info_bits / self.coded_bits

    def _real_bits(self, r):
        """Information bits codeword r carries (the last one may carry fewer)."""
        return min(self.segment_info, self.info_bits - r * self.segment_info)

    def encode(self, bits):
        """uint8 [B] message bits -> uint8 [G] coded bits in air order."""
        bits = np.asarray(bits, dtype=np.uint8).ravel()
        if bits.size != self.info_bits:
            raise ValueError(f"the LDPC link takes {self.info_bits} bits, got {bits.size}")
        if bits.size and bits.max() > 1:
            raise ValueError("LDPC message bits must be 0 or 1")
        info = np.zeros((self.segments, self.code.k), dtype=np.uint8)
        for r in range(self.segments):
            start = r * self.segment_info
            info[r, :self._real_bits(r)] = bits[start:start + self._real_bits(r)]
        words = self.code.encode(info)
        return np.concatenate([words[r, p] for r, p in enumerate(self.positions)])

    def decode(self, llr, max_iterations=50):
        """float [G] LLRs (log P(0) / P(1)) of the coded bits -> (uint8 [B] message
        bits, bool [C] codewords whose checks all hold)."""
        llr = np.asarray(llr, dtype=np.float64).ravel()
        if llr.size != self.coded_bits:
            raise ValueError(f"the LDPC link takes {self.coded_bits} LLRs, got {llr.size}")
        full = np.zeros((self.segments, self.code.n), dtype=np.float64)
        start = 0
        for r, p in enumerate(self.positions):
            np.add.at(full[r], p, llr[start:start + len(p)])
            start += len(p)
            full[r, self._real_bits(r):self.code.k] = KNOWN_BIT_LLR
        bits, converged, _ = self.code.decode(full.astype(np.float32), max_iterations)
        message = np.concatenate([bits[r, :self._real_bits(r)] for r in range(self.segments)])
        return message, converged
