"""Near-duplicates: records whose LSH band keys collide are candidates; verified pairs make the groups.

A pair of texts with Jaccard similarity J (over word shingles) shares at least one of b band keys
of r rows with probability 1 - (1 - J**r)**b: an S-curve whose midpoint, (1/b)**(1/r), is the
threshold. With datatrove's 14 bands x 8 rows it is about 0.72.

LSH only proposes: two texts in one bucket may be far apart, and chaining buckets joins texts
that share nothing. `verified_near_groups` therefore checks every candidate pair against the
true Jaccard similarity of the two shingle sets and joins only the pairs at or above the
threshold, so every member of a group has a group-mate at least that similar (the group's
`similarity` is the lowest such figure over its members). Buckets up to _ALL_PAIRS_MAX members
have every pair checked; larger ones (templated data) each member against its neighbour in
record order and against the bucket's first record, which connects a bucket of true copies
at a cost linear in its size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from backend.core.dedup.minhash import shingle_set

DEFAULT_BANDS = 14
DEFAULT_ROWS = 8
DEFAULT_NGRAM = 5
NEAR_DUP_THRESHOLD: float = (1 / DEFAULT_BANDS) ** (1 / DEFAULT_ROWS)
_ALL_PAIRS_MAX = 32
DEFAULT_MAX_PAIRS = 2_000_000  # candidate pairs checked at most per analysis (each a set intersection)

Edges = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]
# A text's shingles, as the shingles themselves or as their hashes (Python's 64-bit hash of each
# tuple, computed once per text): set operations on ints are several times faster, and two distinct
# shingles sharing a 64-bit hash within one analysis is as likely as not happening at all.
Shingles = set[tuple[bytes, ...]] | frozenset[int]


@dataclass(frozen=True)
class NearGroups:
    groups: list[list[int]]  # sorted members, groups ordered by first member, size >= 2
    similarity: list[float]  # per group: the lowest, over its members, of the best Jaccard to a group-mate
    candidate_pairs: int  # distinct candidate pairs whose true similarity was computed
    verified_pairs: int  # of those, pairs at or above the threshold
    unchecked_pairs: int  # candidate pairs left unchecked because the budget ran out (0 normally)


def lsh_threshold(bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS) -> float:
    """The Jaccard similarity at which candidates become more likely than not, roughly."""
    return float((1 / bands) ** (1 / rows))


def candidate_probability(jaccard: float, bands: int = DEFAULT_BANDS, rows: int = DEFAULT_ROWS) -> float:
    """Probability that two texts of this Jaccard similarity share at least one band key."""
    return float(1 - (1 - jaccard**rows) ** bands)


def shingle_hashes(text: str, ngram: int = DEFAULT_NGRAM) -> frozenset[int]:
    return frozenset(map(hash, shingle_set(text, ngram)))


def jaccard(a: Shingles, b: Shingles) -> float:
    common = len(a & b)
    union = len(a) + len(b) - common
    return common / union if union else 1.0


def group_near_duplicates(
    band_keys: npt.NDArray[np.uint64],
    *,
    exclude: set[int] | None = None,
    texts_for_verify: Callable[[int], str] | None = None,
    threshold: float = NEAR_DUP_THRESHOLD,
    ngram: int = DEFAULT_NGRAM,
) -> list[list[int]]:
    """Groups of record numbers (rows of band_keys) that are near-duplicates of each other.

    `exclude`: records to leave out, normally the later copies of exact duplicates. With
    `texts_for_verify`, the groups are verified ones (see verified_near_groups); without it, they
    are the raw LSH candidate groups (buckets chained), which is what the LSH maths is tested on.
    """
    if texts_for_verify is not None:
        text_of = texts_for_verify
        return verified_near_groups(
            band_keys, lambda r: shingle_hashes(text_of(r), ngram), exclude=exclude, threshold=threshold
        ).groups
    keys, records = _active(band_keys, exclude)
    buckets = list(_buckets(keys[records], records))
    if not buckets:
        return []
    left = np.concatenate([b[:-1] for b in buckets])
    right = np.concatenate([b[1:] for b in buckets])
    return _components(keys.shape[0], left, right)


def verified_near_groups(
    band_keys: npt.NDArray[np.uint64],
    shingles_of: Callable[[int], Shingles],
    *,
    exclude: set[int] | None = None,
    threshold: float = NEAR_DUP_THRESHOLD,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> NearGroups:
    """Groups of records joined only by candidate pairs whose true Jaccard similarity is >= threshold."""
    keys, records = _active(band_keys, exclude)
    shingles: dict[int, Shingles] = {}
    similarity: dict[tuple[int, int], float] = {}
    unchecked = 0
    for a, b in _candidate_pairs(_buckets(keys[records], records)):
        pair = (a, b) if a < b else (b, a)
        if pair in similarity:
            continue
        if len(similarity) >= max_pairs:
            unchecked += 1
            continue
        if a not in shingles:
            shingles[a] = shingles_of(a)
        if b not in shingles:
            shingles[b] = shingles_of(b)
        similarity[pair] = jaccard(shingles[a], shingles[b])
    edges = [(pair, value) for pair, value in similarity.items() if value >= threshold]
    best: dict[int, float] = {}
    for (a, b), value in edges:
        best[a] = max(best.get(a, 0.0), value)
        best[b] = max(best.get(b, 0.0), value)
    left = np.array([a for (a, _), _ in edges], dtype=np.intp)
    right = np.array([b for (_, b), _ in edges], dtype=np.intp)
    groups = _components(keys.shape[0], left, right)
    return NearGroups(
        groups=groups,
        similarity=[round(min(best[m] for m in group), 4) for group in groups],
        candidate_pairs=len(similarity),
        verified_pairs=len(edges),
        unchecked_pairs=unchecked,
    )


def _active(
    band_keys: npt.NDArray[np.uint64], exclude: set[int] | None
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    keys = np.asarray(band_keys, dtype=np.uint64)
    if keys.ndim != 2:
        raise ValueError("band_keys must have shape (records, bands)")
    active = np.ones(keys.shape[0], dtype=bool)
    if exclude:
        active[[i for i in exclude if 0 <= i < keys.shape[0]]] = False
    return keys, np.flatnonzero(active)


def _buckets(keys: npt.NDArray[np.uint64], records: npt.NDArray[np.intp]) -> Iterable[npt.NDArray[np.intp]]:
    """Per band, the records (two or more, ascending) that share a key."""
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        ordered = keys[order, band]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        ends = np.append(starts[1:], ordered.size)
        for start, end in zip(starts[ends - starts >= 2], ends[ends - starts >= 2], strict=True):
            yield records[order[start:end]]


def _candidate_pairs(buckets: Iterable[npt.NDArray[np.intp]]) -> Iterable[tuple[int, int]]:
    for bucket in buckets:
        members = bucket.tolist()
        if len(members) <= _ALL_PAIRS_MAX:
            yield from combinations(members, 2)
        else:
            yield from zip(members[:-1], members[1:], strict=True)
            yield from ((members[0], m) for m in members[2:])


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
