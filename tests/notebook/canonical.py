"""Canonical examples of a dataset file, read through the product's own ingest (sniff + records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.core.ingest.reader import iter_records
from backend.core.ingest.sniff import sniff_file


def read_canonical(path: Path) -> list[dict[str, Any]]:
    info = sniff_file(path)
    return [r.conversation.to_json() for r in iter_records(path, info) if r.conversation is not None]
