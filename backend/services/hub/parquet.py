"""Canonical examples as Parquet rows for the Hub, and Hub rows back as canonical examples.

One fixed schema for every push, so appends stay loadable: `messages` (role, content and the optional
OpenAI fields, null when absent) and `tools` (the tool schema as JSON text, or null). `datasets` reads
it as the familiar `messages` column that TRL and the Hub's viewer understand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_GROUP = 1000

_FUNCTION = pa.struct([("name", pa.string()), ("arguments", pa.string())])
_TOOL_CALL = pa.struct([("id", pa.string()), ("type", pa.string()), ("function", _FUNCTION)])
MESSAGE = pa.struct([
    ("role", pa.string()),
    ("content", pa.string()),
    ("name", pa.string()),
    ("tool_calls", pa.list_(_TOOL_CALL)),
    ("tool_call_id", pa.string()),
    ("weight", pa.float64()),
])
SCHEMA = pa.schema([("messages", pa.list_(MESSAGE)), ("tools", pa.string())])
COLUMNS = tuple(SCHEMA.names)


def to_row(example: dict[str, Any]) -> dict[str, Any]:
    return {"messages": example["messages"], "tools": example.get("tools")}


class SplitFiles:
    """One Parquet file per split, written as examples arrive in any order (a row group at a time)."""

    def __init__(self, directory: Path, schema: pa.Schema = SCHEMA) -> None:
        self.directory = directory
        self.schema = schema
        self.paths: dict[str, Path] = {}
        self.counts: dict[str, int] = {}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}

    def add(self, split: str, file_name: str, row: dict[str, Any]) -> None:
        if split not in self._writers:
            path = self.directory / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writers[split] = pq.ParquetWriter(path, self.schema, compression="zstd")
            self.paths[split], self.counts[split], self._pending[split] = path, 0, []
        pending = self._pending[split]
        pending.append(row)
        self.counts[split] += 1
        if len(pending) >= ROWS_PER_GROUP:
            self._flush(split)

    def _flush(self, split: str) -> None:
        if self._pending[split]:
            self._writers[split].write_table(pa.Table.from_pylist(self._pending[split], schema=self.schema))
            self._pending[split] = []

    def close(self) -> dict[str, int]:
        for split, writer in self._writers.items():
            self._flush(split)
            writer.close()
        return dict(self.counts)


def drop_nulls(value: Any) -> Any:
    """A row as plain JSON: null fields left out at every level (Parquet gives every struct every field)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def canonical_example(row: dict[str, Any]) -> dict[str, Any] | None:
    """The canonical example of a row in this schema, or None when the row has no `messages` list."""
    messages = row.get("messages")
    if not isinstance(messages, list):
        return None
    example: dict[str, Any] = {"messages": [drop_nulls(m) for m in messages if isinstance(m, dict)]}
    for message in example["messages"]:
        message.setdefault("content", "")
    if row.get("tools") is not None:
        example["tools"] = row["tools"]
    return example
