"""What one worker returns for one chunk: numpy arrays per usable example, capped lists, counters.

Record numbers in here are LOCAL to the chunk (0 = its first record); merge_results rebases them.
Nothing in a ChunkResult grows with the text of the examples, only with their number, so a
result pickles back to the parent in milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.tokens import TokenizerInfo

Ref = tuple[int, int | None]  # (local record index, line)

# bit flags per example (ChunkResult.flags)
HAS_SYSTEM = 1
MULTI_TURN = 2
NON_ALTERNATING = 4
TOOL_USE = 8
JSON_OUTPUT = 16
HAS_PROMPT = 32  # prompt_fingerprint is meaningful
OVER_LIMIT = 64
ALL_ASSISTANT_CUT = 128

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


@dataclass
class RefList:
    """A count and the first `cap` record references, in file order."""

    count: int = 0
    refs: list[Ref] = field(default_factory=list)

    def add(self, ref: Ref, cap: int) -> None:
        self.count += 1
        if len(self.refs) < cap:
            self.refs.append(ref)


@dataclass
class CookbookColumns:
    """The OpenAI cookbook figures of the chunk's records in OpenAI format."""

    validated: int = 0  # records checked (those written as OpenAI `messages` records)
    # per validated record with a messages list (filled from the worker's ColumnBuffer)
    num_messages: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    total_tokens: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    assistant_tokens: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    missing_system: int = 0
    missing_user: int = 0
    errors: dict[str, RefList] = field(default_factory=dict)  # error category -> occurrences, refs
    records_with_errors: RefList = field(default_factory=RefList)
    # records not in OpenAI format that the cookbook would flag if the file as a whole is OpenAI
    other_data_type: RefList = field(default_factory=RefList)
    other_missing_messages: RefList = field(default_factory=RefList)


@dataclass
class ChunkResult:
    chunk_no: int
    records: int  # records seen: usable + unusable
    canonical_bytes: int  # size of this chunk's canonical file
    # one entry per usable example, in file order
    local_index: I64
    line: I64  # -1 when the container has no lines
    start: I64  # byte offsets of the example's line in the chunk's canonical file
    end: I64
    tokens: I64
    assistant_tokens: I64
    assistant_cut: I64  # assistant tokens beyond max_seq_length
    messages: I64
    chars: I64  # characters of all message contents
    flags: npt.NDArray[np.uint16]
    fingerprint: U64
    prompt_fingerprint: U64
    system_hash: U64  # 0 when the example has no system prompt
    band_keys: U64  # (n, bands)
    format_code: npt.NDArray[np.int8]  # position in FORMATS
    # aggregates
    issues: dict[str, RefList]
    issue_notes: dict[str, str]  # code -> one ingest message, as an example of the wording
    unusable: RefList
    unusable_details: list[tuple[int, int | None, str, str]]  # (local index, line, code, message), capped
    unusable_reasons: Counter[str]
    roles: Counter[str]
    tokens_by_role: Counter[str]
    secret_kinds: Counter[str]
    languages: Counter[str]
    system_texts: dict[int, str]  # system hash -> its text (cut), for the report's most common prompts
    format_first: dict[str, list[Ref]]  # format -> first records written in it
    cookbook: CookbookColumns
    tokenizer: TokenizerInfo  # what counted, so the parent need not load the tokenizer itself
    timings: dict[str, float]

    def summary(self) -> dict[str, Any]:
        """Running figures of this chunk alone (summed over finished chunks, they are the partial report)."""
        return {
            "records": self.records,
            "examples": int(self.tokens.size),
            "tokens": int(self.tokens.sum()),
            "assistant_tokens": int(self.assistant_tokens.sum()),
            "unusable": self.unusable.count,
            "issues": {code: refs.count for code, refs in self.issues.items()},
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


class ColumnBuffer:
    """Per-example values: appended as Python ints, packed into numpy arrays after every batch.

    Python ints cost ~36 bytes each and numpy ones 1-8, which keeps a worker small even when a
    whole 1 GB JSON array is one chunk.
    """

    def __init__(self, dtypes: dict[str, Any]) -> None:
        self.dtypes = dtypes
        self.pending: dict[str, list[int]] = {name: [] for name in dtypes}
        self._parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in dtypes}

    def flush(self) -> None:
        for name, values in self.pending.items():
            if values:
                self._parts[name].append(np.asarray(values, dtype=self.dtypes[name]))
                values.clear()

    def array(self, name: str) -> npt.NDArray[Any]:
        self.flush()
        parts = self._parts[name]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=self.dtypes[name])


def merge_reflists(lists: list[RefList], bases: list[int], cap: int) -> RefList:
    """One RefList from per-chunk ones (in chunk order), record numbers shifted by each chunk's base."""
    out = RefList()
    for part, base in zip(lists, bases, strict=True):
        out.count += part.count
        out.refs.extend((i + base, line) for i, line in part.refs)
    out.refs = out.refs[:cap]
    return out


def merge_reflists_by_code(
    per_chunk: list[dict[str, RefList]], bases: list[int], cap: int
) -> dict[str, RefList]:
    codes = sorted({code for part in per_chunk for code in part})
    return {
        code: merge_reflists([part.get(code, RefList()) for part in per_chunk], bases, cap) for code in codes
    }


def sum_counters(counters: Iterable[Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counter in counters:
        total.update(counter)
    return total
