"""Distributions over per-example numpy arrays (min, max, mean, median, p5, p95, histogram)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from backend.core.analysis.report import Distribution, HistogramBin

HISTOGRAM_BINS = 20

# The seed's token buckets for GET /preview/{id}/distribution: [lo, hi) in tokens.
TOKEN_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-100", 0, 100),
    ("100-500", 100, 500),
    ("500-1000", 500, 1000),
    ("1000+", 1000, None),
)


def describe(values: npt.NDArray[np.int64]) -> Distribution:
    """Summary figures of one per-example quantity; an empty array gives an all-zero Distribution.

    >>> d = describe(np.array([2, 9, 3, 3, 2]))
    >>> (d.min, d.max, d.mean, d.median)
    (2.0, 9.0, 3.8, 3.0)
    """
    if values.size == 0:
        return Distribution()
    return Distribution(
        count=int(values.size),
        min=float(values.min()),
        max=float(values.max()),
        mean=round(float(values.mean()), 4),
        median=float(np.median(values)),
        p5=float(np.percentile(values, 5)),
        p95=float(np.percentile(values, 95)),
        histogram=histogram(values),
    )


def histogram(values: npt.NDArray[np.int64], bins: int = HISTOGRAM_BINS) -> list[HistogramBin]:
    """Equal-width integer bins [lo, hi) from min to max (the last bin includes max)."""
    lo, hi = int(values.min()), int(values.max())
    width = max(1, -(-(hi - lo + 1) // bins))  # ceil, so at most `bins` bins cover [lo, hi]
    edges = np.arange(lo, hi + width + 1, width, dtype=np.int64)
    if edges[-1] <= hi:
        edges = np.append(edges, hi + 1)
    counts, _ = np.histogram(values, bins=edges)
    return [
        HistogramBin(lo=float(edges[i]), hi=float(edges[i + 1]), count=int(counts[i]))
        for i in range(len(counts))
    ]


def bucket_tokens(values: npt.NDArray[np.int64]) -> dict[str, int]:
    """Examples per seed bucket ("0-100", "100-500", "500-1000", "1000+")."""
    out: dict[str, int] = {}
    for name, lo, hi in TOKEN_BUCKETS:
        mask = values >= lo if hi is None else (values >= lo) & (values < hi)
        out[name] = int(np.count_nonzero(mask))
    return out
