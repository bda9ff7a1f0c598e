"""What one worker returns for one chunk: the example columns, complete record lists, counters.

Record numbers in here are LOCAL to the chunk (0 = its first record); the merge rebases them.
Nothing in a ChunkResult grows with the text of the examples, only with their number (and the
number of records each issue concerns), so a result pickles back to the parent in milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.tokens import TokenizerInfo

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Ref = tuple[int, int | None]  # (local record index, line)


class RecordList:
    """Every record with some property, as (record index, line or -1) pairs, in file order."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[int] = []  # index, line, index, line...

    def add(self, index: int, line: int | None) -> None:
        self.values.append(index)
        self.values.append(-1 if line is None else line)

    def __len__(self) -> int:
        return len(self.values) // 2

    def pairs(self) -> I64:
        return np.array(self.values, dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True, slots=True)
class ReadStop:
    """Where and why a reader stopped before the end of the file (nothing after it was read)."""

    index: int  # the record number the next record would have had (chunk-local)
    line: int | None
    code: str
    message: str


@dataclass
class CookbookColumns:
    """The OpenAI cookbook figures of the chunk's records in OpenAI format."""

    validated: int = 0  # records checked (those written as OpenAI `messages` records)
    # per validated record with a messages list
    num_messages: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    total_tokens: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    assistant_tokens: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    missing_system: int = 0
    missing_user: int = 0
    errors: dict[str, I64] = field(default_factory=dict)  # error category -> (index, line) of each occurrence
    records_with_errors: I64 = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    # records not in OpenAI format that the cookbook would flag if the file as a whole is OpenAI
    other_data_type: I64 = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    other_missing_messages: I64 = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    # records that hold OpenAI messages under "conversations" (the cookbook reads only "messages")
    messages_under_conversations: int = 0


@dataclass
class ChunkResult:
    chunk_no: int
    records: int  # records seen: usable + unusable (a read stop is no record)
    canonical_bytes: int  # size of this chunk's canonical file
    columns: dict[str, npt.NDArray[Any]]  # columns.ExampleRow's columns, one entry per usable example
    band_keys: U64  # (examples, bands) MinHash LSH keys
    example_issues: dict[str, I64]  # check code -> positions (rows of `columns`) of the examples with it
    issue_notes: dict[str, str]  # code -> one ingest message, as an example of the wording
    unusable: I64  # (index, line) of every unusable record
    unusable_details: list[tuple[int, int | None, str, str]]  # (local index, line, code, message), capped
    unusable_reasons: Counter[str]
    read_stops: list[ReadStop]
    roles: Counter[str]
    tokens_by_role: Counter[str]
    secret_kinds: Counter[str]
    languages: Counter[str]
    system_texts: dict[int, str]  # system hash -> its text (cut), for the report's most common prompts
    cookbook: CookbookColumns
    tokenizer: TokenizerInfo  # what counted, so the parent need not load the tokenizer itself
    timings: dict[str, float]

    @property
    def examples(self) -> int:
        return int(self.columns["record"].size)

    def summary(self) -> dict[str, Any]:
        """Running figures of this chunk alone (summed over finished chunks, they are the partial report)."""
        return {
            "records": self.records,
            "examples": self.examples,
            "tokens": int(self.columns["tokens"].sum()),
            "assistant_tokens": int(self.columns["assistant_tokens"].sum()),
            "unusable": int(self.unusable.shape[0]),
            "issues": {code: int(positions.size) for code, positions in self.example_issues.items()},
        }


def sum_summaries(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The partial report: ChunkResult.summary() of every finished chunk, added up (issues per code)."""
    total: dict[str, Any] = {"chunks": 0, "records": 0, "examples": 0, "tokens": 0, "assistant_tokens": 0,
                             "unusable": 0, "issues": {}}
    for part in summaries:
        total["chunks"] += 1
        for key in ("records", "examples", "tokens", "assistant_tokens", "unusable"):
            total[key] += int(part.get(key, 0))
        for code, count in part.get("issues", {}).items():
            total["issues"][code] = total["issues"].get(code, 0) + int(count)
    return total


def sum_counters(counters: Iterable[Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter)
    return total
