"""find_related: the exact, near-duplicate and shared-prompt groups of a stored dataset.

The groups are recomputed from the store with the analysis's own rules (backend.core.dedup): the
same fingerprints, the same MinHash text (system prompts left out) and the same banding, so the
counts equal the report's; the report only lists the first few groups, this lists them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.analysis.store import StoredExample, count_examples, read_examples
from backend.core.conversation import Conversation, Message, SourceFormat
from backend.core.dedup import (
    conversation_fingerprint,
    conversation_text,
    duplicate_records,
    group_exact_duplicates,
    group_near_duplicates,
    minhash_band_keys,
    prompt_fingerprint,
)

BATCH = 2000


@dataclass(frozen=True)
class RelatedExamples:
    """Groups of store positions (each sorted, groups ordered by their first member, size >= 2)."""

    size: int
    record_numbers: npt.NDArray[np.int64]  # position -> record number in the uploaded file
    exact: list[list[int]]  # the same conversation; the first member is the first occurrence
    near: list[list[int]]  # near-duplicates, later exact copies left out (as the report lists them)
    prompt: list[list[int]]  # every example sharing one prompt (system and user turns), answers aside

    def components(self) -> npt.NDArray[np.int64]:
        """For each position, the first position of its related set (exact, near or prompt, transitively)."""
        return link_groups(self.size, [*self.exact, *self.near, *self.prompt])

    def duplicates_of_earlier(self) -> set[int]:
        """Positions that repeat an earlier example exactly: every member of an exact group but the first."""
        return duplicate_records(self.exact)


def example_conversation(example: StoredExample | dict[str, Any], index: int = 0) -> Conversation:
    """The Conversation of a canonical example, rebuilt field for field (no format detection needed)."""
    if isinstance(example, StoredExample):
        messages, tools, index, line = example.messages, example.tools, example.index, example.line
    else:
        messages, tools, line = example["messages"], example.get("tools"), None
    return Conversation(
        index=index,
        line=line,
        format=SourceFormat.OPENAI,
        messages=tuple(
            Message(
                role=m["role"],
                content=m["content"],
                name=m.get("name"),
                tool_calls=tuple(m["tool_calls"]) if m.get("tool_calls") else None,
                tool_call_id=m.get("tool_call_id"),
                weight=m.get("weight"),
            )
            for m in messages
        ),
        tools=tools,
    )


def find_related(store_dir: Path, on_progress: Callable[[int, int], None] | None = None) -> RelatedExamples:
    """One pass over the store: fingerprints and MinHash band keys per example, then the groups."""
    total = count_examples(store_dir)
    record_numbers = np.zeros(total, dtype=np.int64)
    fingerprints = np.zeros(total, dtype=np.uint64)
    prompts = np.zeros(total, dtype=np.uint64)  # 0: no prompt (no user turn)
    band_parts: list[npt.NDArray[np.uint64]] = []
    for start in range(0, total, BATCH):
        batch = read_examples(store_dir, start, BATCH)
        texts: list[str] = []
        for offset, example in enumerate(batch):
            conv = example_conversation(example)
            record_numbers[start + offset] = example.index
            fingerprints[start + offset] = conversation_fingerprint(conv)
            prompts[start + offset] = prompt_fingerprint(conv) or 0
            texts.append(conversation_text(conv, include_system=False))
        band_parts.append(minhash_band_keys(texts))
        if on_progress is not None:
            on_progress(start + len(batch), total)
    exact = group_exact_duplicates(fingerprints)
    near: list[list[int]] = []
    if total:
        near = group_near_duplicates(np.concatenate(band_parts), exclude=duplicate_records(exact))
    return RelatedExamples(
        size=total,
        record_numbers=record_numbers,
        exact=exact,
        near=near,
        prompt=_groups_by_key(prompts),
    )


def _groups_by_key(keys: npt.NDArray[np.uint64]) -> list[list[int]]:
    """Positions sharing a nonzero key, as groups of two or more."""
    has_key = np.flatnonzero(keys != 0)
    groups = group_exact_duplicates(keys[has_key])
    return [[int(has_key[p]) for p in group] for group in groups]


def link_groups(size: int, groups: Iterable[Sequence[int]]) -> npt.NDArray[np.int64]:
    """Union of overlapping groups: for each of `size` positions, the smallest position linked to it.

    >>> link_groups(6, [[0, 3], [3, 5], [1, 2]]).tolist()
    [0, 1, 1, 0, 4, 0]
    """
    parent = list(range(size))

    def root(p: int) -> int:
        while parent[p] != p:
            parent[p] = parent[parent[p]]  # path halving keeps every walk short
            p = parent[p]
        return p

    for group in groups:
        members = list(group)
        for a, b in zip(members, members[1:], strict=False):
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)  # the smaller position is the root: ids are deterministic
    return np.array([root(p) for p in range(size)], dtype=np.int64)
