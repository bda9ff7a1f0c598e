"""The per-example columns: the one table of what the analysis keeps for every usable example.

A worker appends one `ExampleRow` per usable example to a `ColumnBuffer`; a ChunkResult carries
the columns as numpy arrays; the merge concatenates every chunk's columns into one `Columns`
(record numbers made global), which every report section reads. A new per-example figure is a
field of ExampleRow (name, dtype, meaning), the line in worker.py that computes it, and the report
section that reads it: nothing else names the columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, NamedTuple, get_type_hints

import numpy as np
import numpy.typing as npt

from backend.core.analysis.report import RecordRef

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Positions = npt.NDArray[np.intp] | I64 | list[int]

# bit flags per example (the `flags` column)
HAS_SYSTEM = 1
MULTI_TURN = 2
NON_ALTERNATING = 4
TOOL_USE = 8
JSON_OUTPUT = 16
HAS_PROMPT = 32  # prompt_fingerprint is meaningful
OVER_LIMIT = 64
ALL_ASSISTANT_CUT = 128
NOTHING_TRAINED = 256  # assistant turns, but every one has weight 0

# the `preference` column
CHAT, PAIRED, UNPAIRED_GOOD, UNPAIRED_BAD = 0, 1, 2, 3


class ExampleRow(NamedTuple):
    """One usable example, as numbers. Annotated with the numpy dtype its column is stored in."""

    record: Annotated[int, np.int64]  # record number (index in the file): chunk-local in a worker, global once merged
    line: Annotated[int, np.int64]  # 1-based line where the record starts; -1 when the file has no lines
    start: Annotated[int, np.int64]  # byte range of its canonical JSON line in the chunk's store file
    end: Annotated[int, np.int64]
    tokens: Annotated[int, np.int64]  # the example's tokens (report.COUNTING_METHOD)
    assistant_tokens: Annotated[int, np.int64]  # trained tokens: assistant contents and tool calls, weight > 0
    assistant_cut: Annotated[int, np.int64]  # of those, the tokens past max_seq_length
    messages: Annotated[int, np.int64]
    chars: Annotated[int, np.int64]  # characters of all message contents
    flags: Annotated[int, np.uint16]  # the bit flags above
    fingerprint: Annotated[int, np.uint64]  # exact-duplicate key (dedup.conversation_fingerprint)
    prompt_fingerprint: Annotated[int, np.uint64]  # system + user turns; 0 without a user turn
    system_hash: Annotated[int, np.uint64]  # 0 when the example has no system prompt
    format_code: Annotated[int, np.int8]  # position in plan.FORMATS
    preference: Annotated[int, np.int8]  # CHAT, PAIRED, UNPAIRED_GOOD or UNPAIRED_BAD


COLUMN_DTYPES: dict[str, type[np.generic]] = {
    name: hint.__metadata__[0] for name, hint in get_type_hints(ExampleRow, include_extras=True).items()
}


class ColumnBuffer:
    """ExampleRows appended as Python tuples, packed into numpy arrays after every batch.

    Python ints cost ~36 bytes each and numpy ones 1-8, which keeps a worker small even when a
    whole 1 GB JSON array is one chunk.
    """

    def __init__(self) -> None:
        self.rows: list[ExampleRow] = []
        self._parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in COLUMN_DTYPES}
        self.count = 0

    def add(self, row: ExampleRow) -> None:
        self.rows.append(row)
        self.count += 1

    def flush(self) -> None:
        if not self.rows:
            return
        for (name, dtype), values in zip(COLUMN_DTYPES.items(), zip(*self.rows, strict=True), strict=True):
            self._parts[name].append(np.array(values, dtype=dtype))
        self.rows.clear()

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        self.flush()
        return {
            name: np.concatenate(parts) if parts else np.zeros(0, dtype=COLUMN_DTYPES[name])
            for name, parts in self._parts.items()
        }


class Columns:
    """Every usable example's columns, in file order, with global record numbers."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
        self._arrays = dict(arrays)
        self.size = int(self._arrays["record"].size)

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self._arrays[name]

    @classmethod
    def concatenate(cls, parts: Sequence[Mapping[str, npt.NDArray[Any]]], record_bases: Sequence[int]) -> Columns:
        """One Columns from chunk-local ones: each chunk's record numbers shifted by the records before it."""
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name, dtype in COLUMN_DTYPES.items():
            pieces = [part[name] for part in parts]
            if name == "record":
                pieces = [piece + base for piece, base in zip(pieces, record_bases, strict=True)]
            arrays[name] = np.concatenate(pieces).astype(dtype, copy=False) if pieces else np.zeros(0, dtype)
        return cls(arrays)

    def pairs(self, positions: Positions) -> I64:
        """(record index, line or -1) rows for these example positions."""
        where = np.asarray(positions, dtype=np.intp)
        return np.column_stack([self["record"][where], self["line"][where]]).astype(np.int64).reshape(-1, 2)

    def refs(self, positions: Positions, cap: int | None = None) -> list[RecordRef]:
        where = np.asarray(positions, dtype=np.intp)[:cap]
        return refs_of(self.pairs(where))

    def share(self, flag: int) -> float:
        return float(np.count_nonzero(self["flags"] & flag)) / self.size if self.size else 0.0


def refs_of(pairs: I64, cap: int | None = None) -> list[RecordRef]:
    """RecordRefs of (index, line or -1) rows."""
    return [RecordRef(index=int(i), line=int(line) if line >= 0 else None) for i, line in pairs[:cap].tolist()]


def no_pairs() -> I64:
    return np.zeros((0, 2), dtype=np.int64)
