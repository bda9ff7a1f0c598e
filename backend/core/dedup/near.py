"""Near-duplicates: records whose LSH band keys collide, joined into groups (union-find).

A pair of texts with Jaccard similarity J (over word shingles) shares at least one of b band keys
of r rows with probability 1 - (1 - J**r)**b: an S-curve whose midpoint, (1/b)**(1/r), is the
threshold. With datatrove's 14 bands x 8 rows it is about 0.72.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import combinations

import numpy as np
import numpy.typing as npt

from backend.core.dedup.minhash import shingle_set

DEFAULT_BANDS = 14
DEFAULT_ROWS = 8
DEFAULT_NGRAM = 5
NEAR_DUP_THRESHOLD: float = (1 / DEFAULT_BANDS) ** (1 / DEFAULT_ROWS)
# Buckets up to this size have every pair verified; larger ones each member against its neighbour
# in record order and against the bucket's first record.
_ALL_PAIRS_MAX = 32

Edges = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]


def lsh_threshold(bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS) -> float:
    """The Jaccard similarity at which candidates become more likely than not, roughly."""
    return float((1 / bands) ** (1 / rows))


def candidate_probability(jaccard: float, bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS) -> float:
    """Probability that two texts of this Jaccard similarity share at least one band key."""
    return float(1 - (1 - jaccard**rows) ** bands)


def group_near_duplicates(
    band_keys: npt.NDArray[np.uint64],
    *,
    exclude: set[int] | None = None,
    texts_for_verify: Callable[[int], str] | None = None,
    threshold: float = NEAR_DUP_THRESHOLD,
    ngram: int = DEFAULT_NGRAM,
) -> list[list[int]]:
    """Groups of record numbers (rows of band_keys) that are near-duplicates of each other.

    `exclude`: records to leave out, normally the later copies of exact duplicates, so a set of
    exact copies is not reported again here. `texts_for_verify`: when given (small data), every
    candidate pair is checked by the true Jaccard similarity of its shingles against `threshold`,
    which removes LSH's false positives. Groups are sorted, ordered by first record, size >= 2.
    """
    keys = np.asarray(band_keys, dtype=np.uint64)
    if keys.ndim != 2:
        raise ValueError("band_keys must have shape (records, bands)")
    active = np.ones(keys.shape[0], dtype=bool)
    if exclude:
        active[[i for i in exclude if 0 <= i < keys.shape[0]]] = False
    records = np.flatnonzero(active)
    buckets = list(_buckets(keys[records], records))
    if texts_for_verify is None:
        left, right = _chain_edges(buckets)
    else:
        left, right = _verified_edges(buckets, texts_for_verify, threshold, ngram)
    return _components(keys.shape[0], left, right)


def _buckets(keys: npt.NDArray[np.uint64], records: npt.NDArray[np.intp]) -> Iterable[npt.NDArray[np.intp]]:
    """Per band, the records (two or more, ascending) that share a key."""
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        ordered = keys[order, band]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        ends = np.append(starts[1:], ordered.size)
        for start, end in zip(starts[ends - starts >= 2], ends[ends - starts >= 2], strict=True):
            yield records[order[start:end]]


def _chain_edges(buckets: list[npt.NDArray[np.intp]]) -> Edges:
    """Each bucket as a chain of consecutive members: enough to connect it."""
    if not buckets:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    return (np.concatenate([b[:-1] for b in buckets]), np.concatenate([b[1:] for b in buckets]))


def _verified_edges(
    buckets: list[npt.NDArray[np.intp]], text_of: Callable[[int], str], threshold: float, ngram: int
) -> Edges:
    shingles: dict[int, set[tuple[bytes, ...]]] = {}
    checked: dict[tuple[int, int], bool] = {}

    def similar(a: int, b: int) -> bool:
        pair = (a, b) if a < b else (b, a)
        if pair not in checked:
            sa = shingles.setdefault(a, shingle_set(text_of(a), ngram))
            sb = shingles.setdefault(b, shingle_set(text_of(b), ngram))
            checked[pair] = len(sa & sb) >= threshold * len(sa | sb)
        return checked[pair]

    left: list[int] = []
    right: list[int] = []
    for bucket in buckets:
        members = bucket.tolist()
        if len(members) <= _ALL_PAIRS_MAX:
            pairs: Iterable[tuple[int, int]] = combinations(members, 2)
        else:
            pairs = [*zip(members[:-1], members[1:], strict=True), *((members[0], m) for m in members[2:])]
        for a, b in pairs:
            if similar(a, b):
                left.append(a)
                right.append(b)
    return np.array(left, dtype=np.intp), np.array(right, dtype=np.intp)


def _components(n: int, left: npt.NDArray[np.intp], right: npt.NDArray[np.intp]) -> list[list[int]]:
    """Connected components of the edge list with two or more members (vectorised union-find)."""
    if left.size == 0:
        return []
    parent = np.arange(n)
    while True:
        root_left, root_right = parent[left], parent[right]
        if np.array_equal(root_left, root_right):
            break
        # Hook the larger root under the smaller one, then halve paths until every node points at a root.
        np.minimum.at(parent, np.maximum(root_left, root_right), np.minimum(root_left, root_right))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    members = np.unique(np.concatenate((left, right)))
    roots = parent[members]
    order = np.argsort(roots, kind="stable")
    roots, members = roots[order], members[order]
    starts = np.flatnonzero(np.concatenate(([True], roots[1:] != roots[:-1])))
    groups = [group.tolist() for group in np.split(members, starts[1:]) if group.size >= 2]
    groups.sort(key=lambda group: group[0])
    return groups
