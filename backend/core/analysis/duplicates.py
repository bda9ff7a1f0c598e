"""Exact, near and prompt-level duplicate groups over the merged per-example arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backend.core.analysis.chunk import HAS_PROMPT
from backend.core.analysis.report import DuplicateGroups, Duplicates, NearDuplicates
from backend.core.dedup import (
    DEFAULT_BANDS,
    DEFAULT_NGRAM,
    DEFAULT_ROWS,
    MINHASH_TEXT_RULE,
    NEAR_DUP_TEXT_RULE,
    NEAR_DUP_THRESHOLD,
    duplicate_records,
    group_exact_duplicates,
    group_near_duplicates,
    group_prompt_duplicates,
)

if TYPE_CHECKING:
    from backend.core.analysis.merge import Merged

NEAR_METHOD = (
    f"MinHash ({MINHASH_TEXT_RULE.format(ngram=DEFAULT_NGRAM)}) with LSH banding, "
    f"{DEFAULT_BANDS} bands of {DEFAULT_ROWS} rows"
)
HASHED_TEXT = (
    f"{NEAR_DUP_TEXT_RULE}; system prompts left out (a shared system prompt would make unrelated "
    "examples look alike); later copies of exact duplicates left out (reported as exact)"
)


def find_duplicates(merged: Merged, cap: int) -> Duplicates:
    exact_groups = _sorted_groups(group_exact_duplicates(merged.fingerprint))
    near_groups: list[list[int]] = []
    if merged.band_keys.size:
        exclude = duplicate_records(exact_groups)
        near_groups = _sorted_groups(group_near_duplicates(merged.band_keys, exclude=exclude))
    exact = _groups(merged, exact_groups, cap)
    near = _groups(merged, near_groups, cap)
    return Duplicates(
        exact=exact,
        near=NearDuplicates(
            **near.model_dump(), threshold=NEAR_DUP_THRESHOLD, method=NEAR_METHOD, hashed_text=HASHED_TEXT
        ),
        prompt=_groups(merged, _prompt_groups(merged), cap),
    )


def _sorted_groups(groups: list[list[int]]) -> list[list[int]]:
    ordered = [sorted(int(p) for p in g) for g in groups if len(g) > 1]
    return sorted(ordered, key=lambda g: g[0])


def _groups(merged: Merged, groups: list[list[int]], cap: int) -> DuplicateGroups:
    later = sorted(p for g in groups for p in g[1:])
    return DuplicateGroups(
        count=len(later),
        groups_count=len(groups),
        examples=merged.refs(later, cap),
        groups=[merged.refs(g, cap) for g in groups[:cap]],
    )


def _prompt_groups(merged: Merged) -> list[list[int]]:
    """Examples that share their prompt (system and user turns) but not their whole conversation."""
    has_prompt = np.flatnonzero(merged.flags & HAS_PROMPT)
    prompts = merged.prompt_fingerprint[has_prompt]
    _, inverse, counts = np.unique(prompts, return_inverse=True, return_counts=True)
    candidates = has_prompt[counts[inverse.reshape(-1)] > 1]  # a prompt seen once has no rival answer
    groups = group_prompt_duplicates(
        merged.prompt_fingerprint[candidates].tolist(), merged.fingerprint[candidates].tolist()
    )
    return _sorted_groups([[int(candidates[p]) for p in group] for group in groups])
