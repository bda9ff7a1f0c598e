"""Choosing and ordering stored examples: the index answers length filters and sorting, a streamed scan
answers text, role and language filters.

Positions are 0-based among the usable examples, in file order (the store's own order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from backend.core.analysis.store import (
    COL_INDEX,
    COL_TOKENS,
    INDEX_FILE,
    StoredExample,
    count_examples,
    iter_canonical,
    read_examples_by_index,
)
from backend.core.browse.query import ExampleQuery, matches_example

Positions = npt.NDArray[np.int64]
ScanCache = Callable[[ExampleQuery, Callable[[], Positions]], Positions]


@dataclass(frozen=True, slots=True)
class Selection:
    positions: Positions  # in display order
    total_examples: int  # usable examples in the store, before any filter
    missing_records: tuple[int, ...] = ()  # asked-for record numbers that are not usable examples


def _index(store_dir: Path) -> npt.NDArray[np.int64]:
    count_examples(store_dir)  # the store's own check: a clear error when the analysis has not run
    index: npt.NDArray[np.int64] = np.load(store_dir / INDEX_FILE, mmap_mode="r")
    return index


def token_counts(store_dir: Path) -> npt.NDArray[np.int64]:
    """Tokens of every usable example, in file order (memory-mapped: nothing is read until used)."""
    return _index(store_dir)[:, COL_TOKENS]


def scan_positions(store_dir: Path, query: ExampleQuery) -> Positions:
    """Positions of the examples whose text matches; streams the store one example at a time."""
    found = [position for position, example in enumerate(iter_canonical(store_dir)) if matches_example(example, query)]
    return np.asarray(found, dtype=np.int64)


def select_examples(store_dir: Path, query: ExampleQuery, cache: ScanCache | None = None) -> Selection:
    """The positions of the examples that match `query`, in its order.

    `cache(query, compute)` may keep text scans between calls (a scan reads every example); the store's
    index answers everything else at once.
    """
    index = _index(store_dir)
    total = int(index.shape[0])
    keep = np.ones(total, dtype=bool)
    missing: tuple[int, ...] = ()
    if query.records is not None:
        numbers = np.asarray(index[:, COL_INDEX])
        wanted = np.unique(np.asarray(query.records, dtype=np.int64))
        at = np.searchsorted(numbers, wanted)
        hit = at < total
        hit[hit] = numbers[at[hit]] == wanted[hit]
        missing = tuple(int(n) for n in wanted[~hit])
        keep[:] = False
        keep[at[hit]] = True
    tokens = np.asarray(index[:, COL_TOKENS])
    if query.min_tokens is not None:
        keep &= tokens >= query.min_tokens
    if query.max_tokens is not None:
        keep &= tokens <= query.max_tokens
    if query.needs_text:

        def compute() -> Positions:
            return scan_positions(store_dir, query)

        matched = cache(query, compute) if cache is not None else compute()
        text_keep = np.zeros(total, dtype=bool)
        text_keep[matched[matched < total]] = True
        keep &= text_keep
    positions = np.flatnonzero(keep).astype(np.int64)
    if query.sort != "file":
        # stable, so equal lengths keep file order; descending without reversing that order
        key = -tokens[positions] if query.sort == "tokens_desc" else tokens[positions]
        positions = positions[np.argsort(key, kind="stable")]
    return Selection(positions=positions, total_examples=total, missing_records=missing)


def read_positions(store_dir: Path, positions: Sequence[int] | Positions) -> list[StoredExample]:
    """The stored examples at these positions, in the order given (a page: a few dozen at most)."""
    numbers = np.asarray(_index(store_dir)[:, COL_INDEX])
    wanted = [int(numbers[int(p)]) for p in positions]
    return read_examples_by_index(store_dir, wanted)


def position_in(store_dir: Path, selection: Selection, record: int) -> int | None:
    """Where record number `record` stands in the selection's order, or None when it is not in it."""
    numbers = np.asarray(_index(store_dir)[:, COL_INDEX])
    where = np.flatnonzero(numbers[selection.positions] == record)
    return int(where[0]) if where.size else None
