"""The rows file: accepted rows appended as they pass the gates, readable while the task still runs.

    <work_dir>/rows.jsonl      one row per line: {"n", <the mode's fields>, "provenance": {...}}
    <work_dir>/manifest.json   what made the rows (mode, payload fingerprint): a resumed attempt checks it

Each accepted batch is written with one write and flushed, so a reader sees whole batches; a reader
that meets a last line without its newline (a writer stopped mid-line) ignores it, and so does a resumed
attempt, which copies the complete rows of the previous attempt into its own file before it goes on.

Row fields per mode (the `data` a client sees):
    inputs          {"input"}                              seed 004: `data` is the list of inputs
    examples        {"messages": [{"role", "content"}...]}
    classification  {"text", "label"}                      seed 000 /data/view text_classification
    seq2seq         {"input", "output"}                    seed 000 /data/view seq2seq
    questions       {"question", "answer", "chunk", "chunks", "source_index", "score"?}
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from backend.core.errors import InvalidInputError

ROWS_FILE = "rows.jsonl"
MANIFEST_FILE = "manifest.json"
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    "inputs": ("input",),
    "examples": ("messages",),
    "classification": ("text", "label"),
    "seq2seq": ("input", "output"),
    "questions": ("question", "answer", "chunk", "chunks", "source_index", "score"),
}


def payload_fingerprint(mode: str, payload: dict[str, Any]) -> str:
    data = orjson.dumps({"mode": mode, "payload": payload}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest()[:32]


class RowWriter:
    """Appends rows to rows.jsonl, numbering them; one write and a flush per batch."""

    def __init__(self, path: Path, start_number: int = 0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.count = start_number
        self._file: IO[bytes] = path.open("wb")  # an attempt writes its own file (resume copies rows in)

    def write_batch(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        numbered = []
        for row in rows:
            numbered.append({"n": self.count, **row})
            self.count += 1
        if numbered:
            self._file.write(b"".join(orjson.dumps(row) + b"\n" for row in numbered))
            self._file.flush()
        return numbered

    def close(self) -> None:
        self._file.close()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a rows file (a partly written last line is left out)."""
    return list(iter_rows(path))


def iter_rows(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                return  # still being written, or cut off by a crash
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                return
            if isinstance(row, dict):
                yield row


def row_data(row: dict[str, Any], mode: str) -> dict[str, Any]:
    """A row's fields without its number and provenance."""
    return {key: row[key] for key in DATA_FIELDS[mode] if key in row}


def data_line(row: dict[str, Any], mode: str) -> str:
    """One row as the text line a client streams (`GET /data/generate/{id}/data`): the input itself for
    seed 004's inputs, the row's fields as JSON otherwise."""
    if mode == "inputs":
        return str(row["input"]).replace("\n", " ")
    return orjson.dumps(row_data(row, mode)).decode()


def previous_rows_file(work_dir: Path) -> Path | None:
    """The rows file of the latest earlier attempt of this task (attempt dirs are siblings of work_dir).

    Attempt directories are named by number; each attempt copies the rows of the one before it, so the
    highest-numbered earlier attempt holds every row written so far.
    """
    parent = work_dir.parent
    if not parent.is_dir():
        return None
    mine = _attempt_number(work_dir.name)
    earlier = []
    for sibling in parent.iterdir():
        if sibling == work_dir or not (sibling / ROWS_FILE).is_file():
            continue
        number = _attempt_number(sibling.name)
        if mine is not None and number is not None and number >= mine:
            continue
        earlier.append(((number if number is not None else -1), (sibling / ROWS_FILE).stat().st_mtime, sibling))
    if not earlier:
        return None
    return max(earlier)[2] / ROWS_FILE


def _attempt_number(name: str) -> int | None:
    return int(name) if name.isdigit() else None


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST_FILE
    try:
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    tmp = directory / (MANIFEST_FILE + ".tmp")
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.replace(tmp, directory / MANIFEST_FILE)


def chat_record(row: dict[str, Any], mode: str) -> dict[str, Any]:
    """One row as a record the product's ingest reads.

    Ingest reads {"text"} as raw text and OpenAI {"messages"} as chat; it reads neither {"text", "label"}
    (the label would be an ignored extra key) nor {"input", "output"} (no known format), so those become
    a user turn and the assistant's answer.
    """
    if mode == "inputs":
        return {"text": row["input"]}
    if mode == "examples":
        return {"messages": row["messages"]}
    prompt, answer = {
        "classification": ("text", "label"),
        "seq2seq": ("input", "output"),
        "questions": ("question", "answer"),
    }[mode]
    return {"messages": [{"role": "user", "content": row[prompt]}, {"role": "assistant", "content": row[answer]}]}


def write_chat_dataset(rows_path: Path, mode: str, out_path: Path) -> int:
    """Write the rows as a canonical JSONL dataset (see chat_record); returns the number of records."""
    if mode not in DATA_FIELDS:
        raise InvalidInputError(f"Unknown generation mode {mode!r}.", code="invalid_generation_mode")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".partial")
    count = 0
    with tmp.open("wb") as out:
        for row in iter_rows(rows_path):
            out.write(orjson.dumps(chat_record(row, mode)) + b"\n")
            count += 1
    os.replace(tmp, out_path)
    return count


def iter_data_lines(rows_path: Path, mode: str) -> Iterator[str]:
    """The rows written so far as text lines (see data_line): what `GET /data/generate/{id}/data` streams,
    and, for seed 004's inputs, the `data` list of `GET /data/generate/{id}`."""
    for row in iter_rows(rows_path):
        yield data_line(row, mode)
