"""Exporting a stored dataset: canonical JSONL, OpenAI messages, ShareGPT or Alpaca, optionally gzipped.

    fmt = parse_format("sharegpt")
    check_export(iter_store(store_dir), fmt)        # one clear error if some example cannot be carried
    for block in export_store(store_dir, fmt, gzip=True): ...

formats.py says what each format carries and where it falls back.
"""

from backend.core.export.formats import CONVERTERS, CannotCarry, ExportFormat
from backend.core.export.stream import (
    check_export,
    export_filename,
    export_lines,
    export_store,
    gzip_blocks,
    iter_store,
    parse_format,
)

__all__ = [
    "CONVERTERS",
    "CannotCarry",
    "ExportFormat",
    "check_export",
    "export_filename",
    "export_lines",
    "export_store",
    "gzip_blocks",
    "iter_store",
    "parse_format",
]
