"""Token lengths on a log scale: examples span 20 to 20,000 tokens, which equal-width bins flatten."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BINS_PER_OCTAVE = 2  # edges at 1, 1.4, 2, 2.8, 4 … (rounded): fine enough to see a tail, few enough to read


@dataclass(frozen=True, slots=True)
class LogBin:
    lo: int  # inclusive
    hi: int  # exclusive
    count: int


def log_edges(smallest: int, largest: int) -> list[int]:
    """Integer bin edges, two per doubling, covering smallest..largest.

    >>> log_edges(26, 8032)
    [23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096, 5793, 8192]
    """
    low = max(1, smallest)
    first = math.floor(BINS_PER_OCTAVE * math.log2(low))
    last = math.floor(BINS_PER_OCTAVE * math.log2(max(largest, low))) + 1
    edges: list[int] = []
    for step in range(first, last + 1):
        edge = round(2 ** (step / BINS_PER_OCTAVE))
        if not edges or edge > edges[-1]:
            edges.append(edge)
    if edges[-1] <= largest:  # rounding can land the top edge on the largest value itself
        edges.append(largest + 1)
    if smallest < edges[0]:
        edges.insert(0, max(0, smallest))
    return edges


def log_histogram(tokens: npt.NDArray[np.int64]) -> list[LogBin]:
    """Counts of examples per log-spaced length bin; every example falls in exactly one bin.

    >>> [(b.lo, b.hi, b.count) for b in log_histogram(np.array([26, 28, 45, 111, 8032]))]  # doctest: +ELLIPSIS
    [(23, 32, 2), (32, 45, 0), (45, 64, 1), (64, 91, 0), (91, 128, 1), ..., (5793, 8192, 1)]
    """
    values = np.asarray(tokens, dtype=np.int64)
    if values.size == 0:
        return []
    edges = log_edges(int(values.min()), int(values.max()))
    counts, _ = np.histogram(values, bins=np.asarray(edges, dtype=np.float64))
    # np.histogram closes its last bin on the right; the last edge is always above the largest value
    return [LogBin(lo=edges[i], hi=edges[i + 1], count=int(c)) for i, c in enumerate(counts)]
