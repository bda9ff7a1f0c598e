"""Exact, near and prompt-level duplicate groups over the merged columns, and their complete lists.

Near-duplicate candidates come from the workers' LSH band keys; each candidate pair is checked
against the true Jaccard similarity of the two texts, read back from the store, before it links
two records (see backend.core.dedup.near).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
import orjson

from backend.core.analysis.columns import HAS_PROMPT, Columns
from backend.core.analysis.lists import write_duplicate_groups
from backend.core.analysis.report import DuplicateGroups, Duplicates, NearDuplicates
from backend.core.analysis.store import chunk_file
from backend.core.dedup import (
    DEFAULT_BANDS,
    DEFAULT_NGRAM,
    DEFAULT_ROWS,
    MINHASH_TEXT_RULE,
    NEAR_DUP_TEXT_RULE,
    NEAR_DUP_THRESHOLD,
    NearGroups,
    duplicate_records,
    group_exact_duplicates,
    group_prompt_duplicates,
    shingle_hashes,
    stored_text,
    verified_near_groups,
)

NEAR_METHOD = (
    f"MinHash ({MINHASH_TEXT_RULE.format(ngram=DEFAULT_NGRAM)}) with LSH banding, "
    f"{DEFAULT_BANDS} bands of {DEFAULT_ROWS} rows, to find candidate pairs; each candidate pair is then "
    "checked against its true Jaccard similarity, and only pairs at or above the threshold join a group"
)
HASHED_TEXT = (
    f"{NEAR_DUP_TEXT_RULE}; system prompts left out (a shared system prompt would make unrelated "
    "examples look alike); later copies of exact duplicates left out (reported as exact)"
)
Group = list[int]  # example positions, ascending


@dataclass(frozen=True)
class FoundDuplicates:
    report: Duplicates
    later: dict[str, npt.NDArray[np.int64]]  # kind -> positions of the records that repeat an earlier one


def find_duplicates(columns: Columns, band_keys: npt.NDArray[np.uint64], chunk_of: npt.NDArray[np.int64],
                    store_dir: Path, cap: int) -> FoundDuplicates:
    exact_groups = _sorted_groups(group_exact_duplicates(columns["fingerprint"]))
    near = NearGroups([], [], 0, 0, 0)
    if band_keys.size:
        with _StoreTexts(store_dir, columns, chunk_of) as texts:
            near = verified_near_groups(
                band_keys, lambda p: shingle_hashes(texts.text(p), DEFAULT_NGRAM),
                exclude=duplicate_records(exact_groups),
            )
    prompt_groups = _prompt_groups(columns)
    similarity = np.array(near.similarity, dtype=np.float64)
    for kind, groups, values in (("exact", exact_groups, None), ("near", near.groups, similarity),
                                 ("prompt", prompt_groups, None)):
        _write_groups(store_dir, kind, columns, groups, values)
    near_section = _section(columns, near.groups, cap)
    report = Duplicates(
        exact=_section(columns, exact_groups, cap),
        near=NearDuplicates(
            **near_section.model_dump(), threshold=NEAR_DUP_THRESHOLD, method=NEAR_METHOD, hashed_text=HASHED_TEXT,
            group_similarity=near.similarity[:cap], candidate_pairs=near.candidate_pairs,
            verified_pairs=near.verified_pairs, unchecked_pairs=near.unchecked_pairs,
        ),
        prompt=_section(columns, prompt_groups, cap),
    )
    later = {kind: _later(groups) for kind, groups in
             (("exact", exact_groups), ("near", near.groups), ("prompt", prompt_groups))}
    return FoundDuplicates(report, later)


def _sorted_groups(groups: list[list[int]]) -> list[Group]:
    ordered = [sorted(int(p) for p in g) for g in groups if len(g) > 1]
    return sorted(ordered, key=lambda g: g[0])


def _later(groups: list[Group]) -> npt.NDArray[np.int64]:
    return np.array(sorted(p for g in groups for p in g[1:]), dtype=np.int64)


def _section(columns: Columns, groups: list[Group], cap: int) -> DuplicateGroups:
    later = _later(groups)
    return DuplicateGroups(
        count=int(later.size),
        groups_count=len(groups),
        examples=columns.refs(later, cap),
        groups=[columns.refs(g, cap) for g in groups[:cap]],
    )


def _write_groups(store_dir: Path, kind: str, columns: Columns, groups: list[Group],
                  similarity: npt.NDArray[np.float64] | None) -> None:
    positions = np.array([p for g in groups for p in g], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum([len(g) for g in groups]))).astype(np.int64)
    write_duplicate_groups(store_dir, kind, columns.pairs(positions), offsets, similarity)


def _prompt_groups(columns: Columns) -> list[Group]:
    """Examples that share their prompt (system and user turns) but not their whole conversation."""
    has_prompt = np.flatnonzero(columns["flags"] & HAS_PROMPT)
    prompts = columns["prompt_fingerprint"][has_prompt]
    _, inverse, counts = np.unique(prompts, return_inverse=True, return_counts=True)
    candidates = has_prompt[counts[inverse.reshape(-1)] > 1]  # a prompt seen once has no rival answer
    groups = group_prompt_duplicates(
        columns["prompt_fingerprint"][candidates].tolist(), columns["fingerprint"][candidates].tolist()
    )
    return _sorted_groups([[int(candidates[p]) for p in group] for group in groups])


class _StoreTexts:
    """The hashed text of an example, read back from its chunk's canonical file (open files kept)."""

    def __init__(self, store_dir: Path, columns: Columns, chunk_of: npt.NDArray[np.int64]) -> None:
        self.store_dir = store_dir
        self.columns = columns
        self.chunk_of = chunk_of
        self.files: dict[int, IO[bytes]] = {}

    def __enter__(self) -> _StoreTexts:
        return self

    def __exit__(self, *_: object) -> None:
        for f in self.files.values():
            f.close()

    def text(self, position: int) -> str:
        chunk = int(self.chunk_of[position])
        f = self.files.get(chunk)
        if f is None:
            f = self.files[chunk] = chunk_file(self.store_dir, chunk).open("rb")
        start, end = int(self.columns["start"][position]), int(self.columns["end"][position])
        f.seek(start)
        return stored_text(orjson.loads(f.read(end - start)))

