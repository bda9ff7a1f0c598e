"""iter_records: a file (or one chunk of it) -> ParsedRecords, streamed.

Memory is bounded by the largest record: JSON Lines is read in big binary blocks split on
newlines, JSON arrays element by element, CSV row by row, Parquet batch by batch. Every
record that cannot be used still comes out, as a ParsedRecord with conversation=None and
an issue naming its line (or array index) and the reason. A reader that has to stop before the
end of the file (the record limit, bytes that do not decode, a damaged gzip stream, a broken JSON
structure, text after the JSON array) yields one last ParsedRecord with `ends_reading=True`: it is
not a record, and whatever followed in the file was not read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr

import orjson

from backend.core.errors import InvalidInputError
from backend.core.ingest.convert import to_conversation
from backend.core.ingest.encoding import UTF8_BOM, UndecodableBytesError, iter_text_blocks
from backend.core.ingest.jsonstream import JsonStructureError, TextBuffer, find_list_key, iter_elements
from backend.core.ingest.lines import Line, split_lines
from backend.core.ingest.record import (
    DEFAULT_OPTIONS,
    Chunk,
    FileInfo,
    IngestOptions,
    ParsedRecord,
    make_failed_record,
    make_issue,
)
from backend.core.ingest.source import (
    CheckedReader,
    DamagedStreamError,
    Readable,
    decompressed_limit,
    open_binary,
)
from backend.core.ingest.tabular import (
    iter_csv_rows,
    iter_parquet_rows,
    options_for_columns,
)

BLOCK_BYTES = 4 << 20  # JSON Lines in UTF-8: bytes split on newlines, bigger blocks mean fewer Python steps
TEXT_BLOCK_BYTES = 1 << 20  # decoded text (JSON, CSV, other encodings): smaller, as each block is copied
TRUNCATED_LAST_LINE = "the last line stops in the middle of a JSON value"


def iter_records(
    path: Path, info: FileInfo, chunk: Chunk | None = None, options: IngestOptions = DEFAULT_OPTIONS
) -> Iterator[ParsedRecord]:
    """The records of `chunk` (default: the whole file); indexes are local to the chunk."""
    if chunk is not None and not info.chunkable and (chunk.start != 0 or chunk.end < info.size_bytes):
        raise InvalidInputError(
            f"This {info.container} file cannot be read in byte ranges; read it as one chunk.",
            container=info.container,
        )
    if not info.chunkable:
        chunk = None  # the whole (decompressed) content, whatever its compressed size
    if info.container == "jsonl":
        records = iter_jsonl(path, info, chunk, options)
    elif info.container in ("json_array", "json_object"):
        records = iter_json(path, info, options)
    elif info.container in ("csv", "tsv"):
        records = iter_table(path, info, options)
    else:
        records = iter_parquet(path, info, options)
    yield from limit_records(records, options.max_records)


def limit_records(records: Iterator[ParsedRecord], max_records: int | None) -> Iterator[ParsedRecord]:
    if max_records is None:
        yield from records
        return
    try:
        for count, record in enumerate(records):
            if count == max_records:
                yield make_failed_record(
                    record.index,
                    record.line,
                    "too_many_records",
                    f"reading stopped after {max_records:,} records, the most allowed; "
                    "the records from here on were not read.",
                    ends_reading=True,
                )
                return
            yield record
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()


def parse_json_line(
    text: AnyStr, index: int, line: int, offset: int | None, terminated: bool, options: IngestOptions
) -> ParsedRecord:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        code, message = explain_bad_line(text, exc, terminated)
        # a last line cut in the middle of its value: the file is truncated, not one more record
        cut = not terminated and message.startswith(TRUNCATED_LAST_LINE)
        return make_failed_record(index, line, code, message, byte_offset=offset, ends_reading=cut)
    conversation, issues = to_conversation(raw, index=index, line=line, options=options)
    return ParsedRecord(index, line, raw, conversation, issues, offset)


def explain_bad_line(text: bytes | str, exc: orjson.JSONDecodeError, terminated: bool) -> tuple[str, str]:
    if isinstance(text, bytes):
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as bad:
            return "invalid_encoding", (
                f"byte {bad.start + 1} of the line (0x{text[bad.start]:02x}) is not valid UTF-8; "
                "save the file as UTF-8."
            )
    if not terminated and exc.msg.startswith("unexpected end of data"):
        return "invalid_json", TRUNCATED_LAST_LINE + ": the file looks truncated."
    return "invalid_json", f"not valid JSON: {exc.msg} at character {exc.colno} of the line."


def iter_jsonl(
    path: Path, info: FileInfo, chunk: Chunk | None, options: IngestOptions
) -> Iterator[ParsedRecord]:
    start = chunk.start if chunk is not None else 0
    first_line = chunk.first_line if chunk is not None else 1
    limit = chunk.end - chunk.start if chunk is not None else None
    max_line = options.max_line_bytes
    utf8 = info.encoding in ("utf-8", "utf-8-sig")
    # Byte offsets are only meaningful (seekable, chunkable) in the uncompressed UTF-8 case.
    offset_base = start if utf8 and info.compression == "none" else None
    position = LinePosition(0, first_line)
    with open_binary(path, info.compression) as stream:
        if start:
            stream.seek(start)
        reader = CheckedReader(stream, decompressed_limit(info.compression, options.max_decompressed_bytes))
        try:
            if utf8:
                byte_lines = split_lines(
                    iter_byte_blocks(reader, limit, skip_bom=start == 0), b"\n", max_line
                )
                yield from parse_json_lines(byte_lines, position, offset_base, options)
            else:
                text_blocks = (text for _, text in iter_text_blocks(reader, info.encoding, TEXT_BLOCK_BYTES))
                text_lines = split_lines(text_blocks, "\n", max_line)
                yield from parse_json_lines(text_lines, position, offset_base, options)
        except (UndecodableBytesError, DamagedStreamError) as exc:
            yield make_stream_failure(exc, position.index, position.line, info)


@dataclass(slots=True)
class LinePosition:
    """Where a line reader is: the next record's index and the current line number."""

    index: int
    line: int


def parse_json_lines(
    lines: Iterator[Line[AnyStr]], position: LinePosition, offset_base: int | None, options: IngestOptions
) -> Iterator[ParsedRecord]:
    """One ParsedRecord per non-blank line; blank lines only advance the line number."""
    for entry in lines:
        offset = None if offset_base is None else offset_base + entry.offset
        if entry.text is None:
            yield make_failed_record(
                position.index,
                position.line,
                "line_too_long",
                f"the line is {entry.length:,} characters long, over the limit of "
                f"{options.max_line_bytes:,}; it was not read.",
                byte_offset=offset,
            )
            position.index += 1
        else:
            text = entry.text.strip()
            if text:
                yield parse_json_line(text, position.index, position.line, offset, entry.terminated, options)
                position.index += 1
        position.line += 1


def iter_byte_blocks(reader: Readable, limit: int | None, *, skip_bom: bool) -> Iterator[bytes]:
    remaining = limit
    first = skip_bom
    while remaining is None or remaining > 0:
        data = reader.read(BLOCK_BYTES if remaining is None else min(BLOCK_BYTES, remaining))
        if not data:
            return
        if remaining is not None:
            remaining -= len(data)
        if first and data.startswith(UTF8_BOM):
            data = b" " * len(UTF8_BOM) + data[len(UTF8_BOM) :]  # blank, not cut: offsets stay true
        first = False
        yield data


def make_stream_failure(
    exc: UndecodableBytesError | DamagedStreamError, index: int, line: int | None, info: FileInfo
) -> ParsedRecord:
    if isinstance(exc, UndecodableBytesError):
        return make_failed_record(
            index,
            line,
            "invalid_encoding",
            f"the byte at offset {exc.offset:,} is not valid {exc.encoding}; reading stopped there. "
            "Save the file as UTF-8 and upload it again.",
            ends_reading=True,
        )
    return make_failed_record(
        index,
        line,
        "damaged_file",
        f"{exc.reason}; reading stopped after {exc.offset:,} decompressed bytes.",
        ends_reading=True,
    )


def iter_json(path: Path, info: FileInfo, options: IngestOptions) -> Iterator[ParsedRecord]:
    index = 0
    with open_binary(path, info.compression) as stream:
        reader = CheckedReader(stream, decompressed_limit(info.compression, options.max_decompressed_bytes))
        buffer = TextBuffer(text for _, text in iter_text_blocks(reader, info.encoding, TEXT_BLOCK_BYTES))
        try:
            if info.container == "json_object":
                if info.list_key is None:
                    yield read_single_object(buffer, options)
                    return
                key, found = find_list_key(buffer)
                if not found or key != info.list_key:
                    raise JsonStructureError(f"the list of records under {info.list_key!r} was not found")
            for element in iter_elements(buffer, options.max_line_bytes):
                where = f"(starting on line {element.first_line}) "
                if element.size > options.max_line_bytes:
                    yield make_failed_record(
                        index,
                        None,
                        "line_too_long",
                        f"{where}the record is {element.size:,} characters long, over the limit of "
                        f"{options.max_line_bytes:,}; it was not read.",
                    )
                elif element.error is not None:  # a file cut inside the array ends the reading there
                    yield make_failed_record(
                        index, None, "invalid_json", where + element.error, ends_reading=element.truncated
                    )
                else:
                    conversation, issues = to_conversation(
                        element.value, index=index, line=None, options=options
                    )
                    if element.comma_missing:
                        message = f"{where}a comma is missing between this record and the one before it."
                        issues = (make_issue(index, None, "missing_comma", message, "warning"), *issues)
                    yield ParsedRecord(index, None, element.value, conversation, issues)
                index += 1
            if info.container == "json_array" and not buffer.rest_is_blank():
                yield make_failed_record(
                    index,
                    None,
                    "trailing_data",
                    f"there is more text after the JSON array ends (line {buffer.line_at(buffer.pos)}); "
                    "it was not read. A JSON file holds one array; for one record per line, use JSON Lines.",
                    ends_reading=True,
                )
        except JsonStructureError as exc:
            yield make_failed_record(
                index,
                None,
                "invalid_json",
                f"the file's JSON structure is broken: {exc}; reading stopped there.",
                ends_reading=True,
            )
        except (UndecodableBytesError, DamagedStreamError) as exc:
            yield make_stream_failure(exc, index, None, info)


def read_single_object(buffer: TextBuffer, options: IngestOptions) -> ParsedRecord:
    """A top-level object holding no list of records is itself one record (read up to the limit)."""
    while buffer.fill():  # nothing is consumed, so the buffer keeps all the text read so far
        if len(buffer.buf) > options.max_line_bytes:
            return make_failed_record(
                0,
                None,
                "line_too_long",
                f"the file is one JSON object of more than {options.max_line_bytes:,} characters, over "
                "the limit for one record; it was not read.",
            )
    text = buffer.buf
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return make_failed_record(0, None, "invalid_json", f"not valid JSON: {exc}.")
    conversation, issues = to_conversation(raw, index=0, line=None, options=options)
    return ParsedRecord(0, None, raw, conversation, issues)


def iter_table(path: Path, info: FileInfo, options: IngestOptions) -> Iterator[ParsedRecord]:
    delimiter = "\t" if info.container == "tsv" else ","
    columns: list[str] = []
    effective = options
    index = 0
    line: int | None = 1
    with open_binary(path, info.compression) as stream:
        blocks = (
            text
            for _, text in iter_text_blocks(
                CheckedReader(stream, decompressed_limit(info.compression, options.max_decompressed_bytes)),
                info.encoding,
                TEXT_BLOCK_BYTES,
            )
        )
        # Unlimited line length here: a quoted cell may span lines, so an over-long cell is caught by
        # the CSV field size limit (reported per row) rather than by cutting lines.
        lines = (f"{entry.text}\n" for entry in split_lines(blocks, "\n", sys.maxsize))
        try:
            for line, row, error in iter_csv_rows(lines, delimiter, options.max_line_bytes, columns):
                if effective is options and columns:
                    effective = options_for_columns(columns, options)
                if row is None:
                    yield make_failed_record(index, line, "invalid_csv", f"{error}.")
                else:
                    conversation, issues = to_conversation(row, index=index, line=line, options=effective)
                    if error is not None:
                        issues = (
                            make_issue(index, line, "column_count_mismatch", f"{error}.", "warning"),
                            *issues,
                        )
                    yield ParsedRecord(index, line, row, conversation, issues)
                index += 1
        except (UndecodableBytesError, DamagedStreamError) as exc:
            yield make_stream_failure(exc, index, line, info)


def iter_parquet(path: Path, info: FileInfo, options: IngestOptions) -> Iterator[ParsedRecord]:
    effective: IngestOptions | None = None
    for index, (columns, row, error) in enumerate(iter_parquet_rows(path, info.compression)):
        if row is None:
            yield make_failed_record(index, None, "damaged_file", f"{error}.")
            continue
        if effective is None:
            effective = options_for_columns(columns, options)
        conversation, issues = to_conversation(row, index=index, line=None, options=effective)
        yield ParsedRecord(index, None, row, conversation, issues)
