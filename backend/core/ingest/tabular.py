"""CSV/TSV and Parquet: recognising a header, mapping columns to record fields, reading rows."""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from backend.core.errors import InvalidInputError, NotADatasetError
from backend.core.ingest.record import MAPPABLE_FIELDS, Container, IngestOptions

PARQUET_MAGIC = b"PAR1"
# Column names (lower-cased) mapped to the record field they obviously are, when no mapping is given.
OBVIOUS_COLUMNS: dict[str, str] = {
    "messages": "messages",
    "conversations": "conversations",
    "conversation": "conversations",
    "prompt": "prompt",
    "completion": "completion",
    "instruction": "instruction",
    "input": "input",
    "output": "output",
    "question": "prompt",
    "answer": "completion",
    "text": "text",
    "system": "system",
    "history": "history",
    "chosen": "chosen",
    "rejected": "rejected",
    "tools": "tools",
    "response": "response",
    "context": "context",
}
MAX_HEADER_CELL = 100


def is_parquet_head(head: bytes) -> bool:
    return head.startswith(PARQUET_MAGIC)


def validate_mapping(columns: list[str], options: IngestOptions) -> None:
    """A given column mapping must name known fields and columns the file has."""
    mapping = options.column_mapping
    if not mapping:
        return
    unknown_fields = [f for f in mapping if f not in MAPPABLE_FIELDS and f not in ("role", "content")]
    if unknown_fields:
        raise InvalidInputError(
            f"The column mapping names unknown field(s) {', '.join(unknown_fields)}; "
            f"fields that can be mapped are: {', '.join(MAPPABLE_FIELDS)}.",
            fields=unknown_fields,
        )
    missing = [c for f, c in mapping.items() if c not in columns and f not in ("role", "content")]
    if missing:
        raise InvalidInputError(
            f"The column mapping names column(s) {', '.join(map(repr, missing))} that the file does "
            f"not have; its columns are: {', '.join(map(repr, columns))}.",
            columns=missing,
        )


def infer_mapping(columns: list[str]) -> dict[str, str]:
    """Obvious column names -> record fields (e.g. Question/Answer -> prompt/completion)."""
    mapping: dict[str, str] = {}
    for column in columns:
        field = OBVIOUS_COLUMNS.get(column.strip().lower())
        if field is not None and field not in mapping:
            mapping[field] = column
    for field in list(mapping):  # an exact column name beats an alias of it
        if field in columns:
            mapping[field] = field
    return mapping


def options_for_columns(columns: list[str], options: IngestOptions) -> IngestOptions:
    if options.column_mapping:
        return options
    return replace(options, column_mapping=infer_mapping(columns))  # every other option kept


def check_tabular_header(text: str, is_complete: bool, options: IngestOptions) -> Container | None:
    """'csv' or 'tsv' when the head reads as a delimited table with a header row, else None."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line else ","
    sample = text if is_complete else text[: text.rfind("\n") + 1]
    try:
        rows = [row for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if row]
    except csv.Error:  # e.g. a stray carriage return: not a table we can read
        return None
    if not rows:
        return None
    header = rows[0]
    is_known = any(cell.strip().lower() in OBVIOUS_COLUMNS for cell in header)
    if not is_header_row(header) or (len(header) < 2 and not is_known):
        return None
    body = rows[1:]
    matching = sum(1 for row in body if len(row) == len(header))
    if body and matching < 0.8 * len(body):
        return None
    if not body:
        if not is_known:
            return None
        raise NotADatasetError("The table has a header row but no data rows.", kind="empty")
    validate_mapping(header, options)
    return "tsv" if delimiter == "\t" else "csv"


def is_header_row(header: list[str]) -> bool:
    cells = [cell.strip() for cell in header]
    return all(0 < len(cell) <= MAX_HEADER_CELL and cell.count(" ") <= 4 for cell in cells)


def iter_csv_rows(
    lines: Iterator[str], delimiter: str, max_cell: int, columns: list[str]
) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line, row dict or None, error) per data row; `line` is where the row starts (header = line 1).

    `columns` is filled with the header's column names once the header is read.
    """
    csv.field_size_limit(max(csv.field_size_limit(), max_cell))  # long JSON cells are normal here
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, None, f"the header row cannot be read as CSV ({exc})"
        return
    columns.extend(cell.strip() for cell in header)
    while True:
        start_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start_line, None, f"the row cannot be read as CSV ({exc})"
            if reader.line_num < start_line:
                return
            continue
        if not row:
            continue
        if len(row) != len(columns):
            yield (
                start_line,
                dict(zip(columns, row, strict=False)),
                (f"the row has {len(row)} cells but the header has {len(columns)}"),
            )
            continue
        yield start_line, dict(zip(columns, row, strict=True)), None


@contextmanager
def parquet_path(path: Path, compression: str) -> Iterator[Path]:
    """A seekable Parquet file: the file itself, or a temporary decompressed copy of a gzip one."""
    if compression != "gzip":
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
        with gzip.open(path, "rb") as source:
            shutil.copyfileobj(source, tmp, 1 << 20)
        tmp.flush()
        yield Path(tmp.name)


def check_parquet_file(path: Path, compression: str, options: IngestOptions) -> None:
    import pyarrow.parquet as pq  # heavy to import, and only Parquet files need it

    with parquet_path(path, compression) as readable:
        try:
            columns = list(pq.ParquetFile(readable).schema_arrow.names)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            raise NotADatasetError(
                f"The file starts like a Parquet file but cannot be read as one ({exc}).",
                kind="damaged_parquet",
            ) from exc
    validate_mapping(columns, options)


def iter_parquet_rows(
    path: Path, compression: str
) -> Iterator[tuple[list[str], dict[str, Any] | None, str | None]]:
    """(columns, row, None) per row, or (columns, None, reason) for each row of a damaged row group.

    Row groups are read one at a time so damage in one loses only its own rows, each reported.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with parquet_path(path, compression) as readable:
        parquet = pq.ParquetFile(readable)
        columns = list(parquet.schema_arrow.names)
        for group in range(parquet.num_row_groups):
            expected = parquet.metadata.row_group(group).num_rows
            done = 0
            try:
                for batch in parquet.iter_batches(batch_size=1024, row_groups=[group]):
                    for row in batch.to_pylist():
                        yield columns, row, None
                        done += 1
            except (pa.ArrowException, OSError) as exc:
                reason = (
                    f"row group {group} of the Parquet file cannot be read ({' '.join(str(exc).split())})"
                )
                for _ in range(expected - done):
                    yield columns, None, reason
