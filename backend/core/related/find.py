"""find_related: the exact, near-duplicate and shared-prompt groups of a stored dataset.

The groups are the ones the analysis found and wrote beside the store (backend.core.analysis.lists):
the report lists only the first few, this gives them all, as store positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.analysis.lists import DUPLICATE_KINDS
from backend.core.analysis.store import StoredExample, record_numbers_array
from backend.core.conversation import Conversation, Message, SourceFormat
from backend.core.dedup import duplicate_records
from backend.core.errors import NotFoundError


@dataclass(frozen=True)
class RelatedExamples:
    """Groups of store positions (each sorted, groups ordered by their first member, size >= 2)."""

    size: int
    record_numbers: npt.NDArray[np.int64]  # position -> record number in the uploaded file
    exact: list[list[int]]  # the same conversation; the first member is the first occurrence
    near: list[list[int]]  # near-duplicates, later exact copies left out (as the report lists them)
    prompt: list[list[int]]  # one example of each different answer to a shared prompt (system and user turns)

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


def find_related(store_dir: Path) -> RelatedExamples:
    """Every exact, near and prompt group of the store, read from the complete lists its analysis wrote.

    The lists are the analysis's own groups (near-duplicates verified pair by pair), so what a fix or a
    split sees is exactly what the report counts; nothing is recomputed.
    """
    record_numbers = record_numbers_array(store_dir)
    groups = {kind: _stored_groups(store_dir, kind, record_numbers) for kind in DUPLICATE_KINDS}
    return RelatedExamples(size=int(record_numbers.size), record_numbers=record_numbers, exact=groups["exact"],
                           near=groups["near"], prompt=groups["prompt"])


def _stored_groups(store_dir: Path, kind: str, record_numbers: npt.NDArray[np.int64]) -> list[list[int]]:
    """One kind's groups as store positions (record numbers ascend in the store, so a search finds each)."""
    offsets_file = store_dir / f"duplicates-{kind}-offsets.npy"
    if not offsets_file.exists():
        raise NotFoundError("This dataset's duplicate groups are not stored (it was analysed by an older "
                            "version): run the analysis again.", code="store_not_found")
    offsets = np.load(offsets_file)
    members = np.load(store_dir / f"duplicates-{kind}-members.npy")[:, 0]
    positions = np.searchsorted(record_numbers, members)
    return [positions[a:b].tolist() for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]


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
