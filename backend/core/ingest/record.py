"""The values ingest hands out: options, what a file is, chunks of it, and parsed records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from backend.core.conversation import Conversation, RecordIssue, Severity

Container = Literal["jsonl", "json_array", "json_object", "csv", "tsv", "parquet"]
Compression = Literal["none", "gzip"]

# The canonical record fields a column mapping may name (see `IngestOptions.column_mapping`).
MAPPABLE_FIELDS: tuple[str, ...] = (
    "messages",
    "conversations",
    "system",
    "tools",
    "instruction",
    "input",
    "output",
    "history",
    "prompt",
    "completion",
    "chosen",
    "rejected",
    "text",
    # preference layouts
    "label",
    "chosen_messages",
    "rejected_messages",
)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    # CSV/TSV/Parquet (and, harmlessly, JSON records): canonical field -> column name, e.g.
    # {"prompt": "question", "completion": "answer"} or {"messages": "conversation_json"}.
    column_mapping: dict[str, str] | None = None
    # Role names as written (lower case) -> canonical role, e.g. {"bot": "assistant", "customer": "user"}:
    # checked before the built-in aliases (human, gpt, model...). See ingest/mapping.py.
    role_mapping: dict[str, str] | None = None
    max_line_bytes: int = 64 * 1024 * 1024  # a longer line is reported as a record issue, not loaded whole
    max_records: int | None = None  # stop with a clear issue after this many records
    # A gzip upload may expand to at most this many bytes: a tiny "gzip bomb" must not keep a worker
    # busy for minutes. None: no limit.
    max_decompressed_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class FileInfo:
    container: Container
    compression: Compression
    encoding: str  # "utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", or the detected legacy encoding
    encoding_note: str | None  # e.g. "Decoded as cp1252 (detected); please save as UTF-8"
    size_bytes: int
    list_key: str | None  # json_object: the key holding the list; None when the object is one record
    chunkable: bool  # True only for plain (uncompressed) UTF-8 JSONL: byte ranges can be split


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int  # byte offset (inclusive), always at a line start
    end: int  # byte offset (exclusive), always just after a newline or at EOF
    first_line: int  # 1-based line number of the line starting at `start`


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    index: int  # 0-based record number, LOCAL to the chunk (0 = first record in the chunk)
    line: int | None  # 1-based global line number (JSONL/CSV); None for JSON arrays/objects/Parquet
    raw: Any  # the parsed value as written (dict for JSON, dict of columns for CSV)
    conversation: Conversation | None  # None when the record cannot be used
    issues: tuple[RecordIssue, ...]  # everything wrong with this record, may be empty
    byte_offset: int | None = None  # start of the record's line, when line-oriented and uncompressed
    # True for the marker a reader yields when it stops early (record limit, undecodable bytes, damaged
    # gzip, broken JSON structure, text after the array): no record, but the rest of the file is unread.
    ends_reading: bool = False


DEFAULT_OPTIONS = IngestOptions()


def describe_location(index: int, line: int | None) -> str:
    """How an issue message names a record: by line when there is one, else by position."""
    if line is not None:
        return f"Line {line}"
    return f"Record {index}"


def make_issue(
    index: int, line: int | None, code: str, message: str, severity: Severity = "error"
) -> RecordIssue:
    """An issue whose message starts with where the record is, so it reads well on its own."""
    return RecordIssue(
        index=index,
        line=line,
        code=code,
        message=f"{describe_location(index, line)}: {message}",
        severity=severity,
    )


def make_failed_record(
    index: int,
    line: int | None,
    code: str,
    message: str,
    *,
    raw: Any = None,
    byte_offset: int | None = None,
    ends_reading: bool = False,
) -> ParsedRecord:
    """A record that cannot be used, carrying the one reason why (or, with `ends_reading`, the marker
    of where and why reading stopped)."""
    issue = make_issue(index, line, code, message)
    return ParsedRecord(index, line, raw, None, (issue,), byte_offset, ends_reading)
