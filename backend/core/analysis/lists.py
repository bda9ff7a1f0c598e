"""The complete record lists of an analysis, kept in its store for paging (the report lists the first few).

    <store_dir>/issue-<code>.npy                 int64 rows (record index, line or -1): every record
                                                 the issue concerns, in file order
    <store_dir>/duplicates-<kind>-members.npy    kind exact | near | prompt: (index, line) rows, group
                                                 after group, each group in file order
    <store_dir>/duplicates-<kind>-offsets.npy    where each group starts in members (one more than
                                                 there are groups; the last is the member count)
    <store_dir>/duplicates-near-similarity.npy   per near group: the lowest verified similarity of a
                                                 member to a group-mate

The merge writes them before the store's index, so a store with an index has its lists. Readers
map the files (mmap) and copy out only the requested page: memory stays small for any file.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.analysis.report import RecordRef
from backend.core.errors import InvalidInputError, NotFoundError

I64 = npt.NDArray[np.int64]
DUPLICATE_KINDS: tuple[str, ...] = ("exact", "near", "prompt")
_CODE = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class RecordPage:
    code: str
    count: int  # records the issue concerns, in all
    page: int
    page_size: int
    records: list[RecordRef]

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.count / self.page_size))


@dataclass(frozen=True)
class DuplicateGroup:
    group: int  # 0-based number of the group, in the order of each group's first record
    size: int
    similarity: float | None  # near only
    members: list[RecordRef]


@dataclass(frozen=True)
class GroupPage:
    kind: str
    total_groups: int
    total_records: int  # records in all the groups
    page: int
    page_size: int
    groups: list[DuplicateGroup]

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total_groups / self.page_size))


def write_issue_records(store_dir: Path, code: str, pairs: I64) -> None:
    _atomic_save(_issue_path(store_dir, code), pairs.astype(np.int64, copy=False).reshape(-1, 2))


def write_duplicate_groups(
    store_dir: Path, kind: str, members: I64, offsets: I64, similarity: npt.NDArray[np.float64] | None
) -> None:
    _check_kind(kind)
    if similarity is not None:
        _atomic_save(store_dir / f"duplicates-{kind}-similarity.npy", similarity)
    _atomic_save(store_dir / f"duplicates-{kind}-members.npy", members.astype(np.int64, copy=False).reshape(-1, 2))
    _atomic_save(store_dir / f"duplicates-{kind}-offsets.npy", offsets.astype(np.int64, copy=False))


def read_issue_records(store_dir: Path, code: str, page: int, page_size: int) -> RecordPage:
    """One page (1-based) of every record an issue concerns; an issue the report lacks is not found."""
    _check_page(page, page_size)
    path = _issue_path(store_dir, code)
    if not path.exists():
        raise NotFoundError(f"The analysis found no issue '{code}' in this dataset.", code="issue_not_found")
    rows: I64 = np.load(path, mmap_mode="r")
    start = (page - 1) * page_size
    return RecordPage(code, int(rows.shape[0]), page, page_size, _refs(np.asarray(rows[start : start + page_size])))


def read_duplicate_groups(store_dir: Path, kind: str, page: int, page_size: int) -> GroupPage:
    """One page (1-based) of the complete duplicate groups of one kind (exact, near or prompt)."""
    _check_page(page, page_size)
    _check_kind(kind)
    folder = store_dir
    if not (folder / f"duplicates-{kind}-offsets.npy").exists():
        raise NotFoundError("This dataset's duplicate groups are not stored: run the analysis again.",
                            code="store_not_found")
    offsets = np.asarray(np.load(folder / f"duplicates-{kind}-offsets.npy"))
    all_members: I64 = np.load(folder / f"duplicates-{kind}-members.npy", mmap_mode="r")
    total_groups = offsets.size - 1
    first = min((page - 1) * page_size, total_groups)
    last = min(first + page_size, total_groups)
    members = np.asarray(all_members[offsets[first] : offsets[last]])
    similarity = None
    if (folder / f"duplicates-{kind}-similarity.npy").exists():
        similarity = np.asarray(np.load(folder / f"duplicates-{kind}-similarity.npy", mmap_mode="r")[first:last])
    groups = []
    for n in range(first, last):
        part = members[offsets[n] - offsets[first] : offsets[n + 1] - offsets[first]]
        value = None if similarity is None else round(float(similarity[n - first]), 4)
        groups.append(DuplicateGroup(n, int(part.shape[0]), value, _refs(part)))
    return GroupPage(kind, total_groups, int(offsets[-1]), page, page_size, groups)


def _check_page(page: int, page_size: int) -> None:
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInputError(
            f"page must be 1 or more and page_size between 1 and {MAX_PAGE_SIZE}.", page=page, page_size=page_size
        )


def _issue_path(store_dir: Path, code: str) -> Path:
    if not _CODE.match(code):
        raise NotFoundError(f"There is no issue code '{code[:64]}'.", code="issue_not_found")
    return store_dir / f"issue-{code}.npy"


def _check_kind(kind: str) -> None:
    if kind not in DUPLICATE_KINDS:
        raise InvalidInputError(f"Duplicate kind must be one of {', '.join(DUPLICATE_KINDS)}.", kind=kind[:20])


def _atomic_save(path: Path, array: npt.NDArray[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def _refs(rows: npt.NDArray[np.int64]) -> list[RecordRef]:
    return [RecordRef(index=int(i), line=int(line) if line >= 0 else None) for i, line in rows.tolist()]
