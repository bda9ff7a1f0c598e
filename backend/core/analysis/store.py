"""The analysis store: every usable example in canonical JSON, one line each, plus an index to page it.

    <store_dir>/chunk-NNNNNN.jsonl  {"messages": [...], "tools"?: "..."} per usable example of chunk N,
                                    in file order (the chunks in order make up the whole dataset);
                                    preference examples add "chosen"/"rejected" or "completion"/"label"
                                    (backend.core.conversation)
    <store_dir>/index.npy           int64 rows (record index, line or -1, chunk, start byte, end byte,
                                    tokens, assistant tokens), one per usable example, in order

Each worker writes its chunk's file (streaming, never the whole dataset in memory) and the
merge writes the index last, so a store with an index is complete. The chunk files are not
concatenated: that would copy the whole dataset once more for nothing, since the index says
where every example is. Paging reads only the requested byte ranges. The complete record lists
of the issues and duplicate groups sit beside the index (lists.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import orjson

from backend.core.errors import InvalidInputError, NotFoundError

INDEX_FILE = "index.npy"
COL_INDEX, COL_LINE, COL_CHUNK, COL_START, COL_END, COL_TOKENS, COL_ASSISTANT = range(7)
INDEX_COLUMNS = 7


@dataclass(frozen=True, slots=True)
class StoredExample:
    index: int  # record number in the uploaded file
    line: int | None
    messages: list[dict[str, Any]]  # preference data: the prompt turns
    tools: str | None
    token_count: int
    assistant_tokens: int
    # preference data only (see backend.core.conversation): the answers, or the labelled completion
    chosen: list[dict[str, Any]] | None = None
    rejected: list[dict[str, Any]] | None = None
    completion: list[dict[str, Any]] | None = None
    label: bool | None = None


def chunk_file(store_dir: Path, chunk_no: int) -> Path:
    return store_dir / f"chunk-{chunk_no:06d}.jsonl"


class ChunkWriter:
    """Appends canonical examples of one chunk and remembers where each line starts (bytes)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("wb", buffering=1 << 20)
        self._position = 0

    def write(self, example: dict[str, Any]) -> int:
        data = orjson.dumps(example) + b"\n"
        start = self._position
        self._file.write(data)
        self._position += len(data)
        return start

    @property
    def size(self) -> int:
        return self._position

    def close(self) -> None:
        self._file.close()


def write_store(store_dir: Path, rows: npt.NDArray[np.int64]) -> None:
    """Write the index: (index, line, chunk, start, end, tokens, assistant) per usable example."""
    tmp = store_dir / (INDEX_FILE + ".tmp.npy")
    np.save(tmp, rows.astype(np.int64, copy=False).reshape(-1, INDEX_COLUMNS))
    os.replace(tmp, store_dir / INDEX_FILE)  # the index appears whole, and only once every chunk is written


def _load_index(store_dir: Path) -> npt.NDArray[np.int64]:
    path = store_dir / INDEX_FILE
    if not path.exists():
        raise NotFoundError(
            "This dataset has no analysed examples stored yet: run the analysis first.",
            code="store_not_found",
        )
    index: npt.NDArray[np.int64] = np.load(path, mmap_mode="r")
    return index


def count_examples(store_dir: Path) -> int:
    """How many usable examples the store holds."""
    return int(_load_index(store_dir).shape[0])


def read_examples(store_dir: Path, start: int, count: int) -> list[StoredExample]:
    """Up to `count` examples from position `start` among the usable examples (0-based)."""
    if start < 0 or count < 0:
        raise InvalidInputError("start and count must not be negative.", start=start, count=count)
    rows = np.asarray(_load_index(store_dir)[start : start + count])
    return _read_rows(store_dir, rows)


def read_examples_by_index(store_dir: Path, indexes: Sequence[int]) -> list[StoredExample]:
    """The stored examples with these record numbers, in the order asked.

    Record numbers of unusable records (or beyond the file) are left out.
    """
    index = _load_index(store_dir)
    record_numbers = np.asarray(index[:, COL_INDEX])
    wanted = np.asarray(list(indexes), dtype=np.int64)
    positions = np.searchsorted(record_numbers, wanted)
    found = positions < record_numbers.size
    found[found] = record_numbers[positions[found]] == wanted[found]
    examples: list[StoredExample] = []
    for position in positions[found]:
        examples.extend(_read_rows(store_dir, np.asarray(index[position : position + 1])))
    return examples


def record_numbers(store_dir: Path) -> list[int]:
    """The record number (index in the uploaded file) of every stored example, in iter_canonical's order."""
    numbers: list[int] = record_numbers_array(store_dir).tolist()
    return numbers


def record_numbers_array(store_dir: Path) -> npt.NDArray[np.int64]:
    """record_numbers as an array (ascending: the store keeps file order)."""
    return np.array(_load_index(store_dir)[:, COL_INDEX], dtype=np.int64)


def iter_canonical(store_dir: Path) -> Iterator[dict[str, Any]]:
    """Every usable example, in file order, as its canonical JSON object."""
    chunks = np.unique(np.asarray(_load_index(store_dir)[:, COL_CHUNK]))
    for chunk_no in chunks.tolist():
        with chunk_file(store_dir, chunk_no).open("rb") as f:
            for line in f:
                yield orjson.loads(line)


def _read_rows(store_dir: Path, rows: npt.NDArray[np.int64]) -> list[StoredExample]:
    examples: list[StoredExample] = []
    if rows.shape[0] == 0:
        return examples
    # rows are consecutive examples: read one byte range per chunk file they fall in
    boundaries = np.flatnonzero(np.diff(rows[:, COL_CHUNK])) + 1
    for part in np.split(rows, boundaries):
        first, last = int(part[0, COL_START]), int(part[-1, COL_END])
        with chunk_file(store_dir, int(part[0, COL_CHUNK])).open("rb") as f:
            f.seek(first)
            data = f.read(last - first)
        for row in part:
            obj = orjson.loads(data[int(row[COL_START]) - first : int(row[COL_END]) - first])
            line = int(row[COL_LINE])
            examples.append(
                StoredExample(
                    index=int(row[COL_INDEX]),
                    line=line if line >= 0 else None,
                    messages=obj["messages"],
                    tools=obj.get("tools"),
                    token_count=int(row[COL_TOKENS]),
                    assistant_tokens=int(row[COL_ASSISTANT]),
                    chosen=obj.get("chosen"),
                    rejected=obj.get("rejected"),
                    completion=obj.get("completion"),
                    label=obj.get("label"),
                )
            )
    return examples
