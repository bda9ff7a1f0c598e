"""GET /datasets/{session_id}/export: an analysed dataset version streamed in one of the export formats."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

from backend.auth import User
from backend.core.export import check_export, export_filename, export_store, iter_store, parse_format
from backend.services.datasets import finished_report, get_dataset_for, store_dir
from backend.services.state import AppState


@dataclass(frozen=True)
class ExportStream:
    filename: str
    media_type: str
    body: Iterator[bytes]  # read lazily from the analysis store: memory stays bounded


async def open_export(state: AppState, session_id: str, user: User | None, format_name: str,
                      gzip: bool) -> ExportStream:
    """Access-checked like the previews; refuses before the first byte when the format cannot carry the data."""
    fmt = parse_format(format_name)
    dataset = await get_dataset_for(state, session_id, user)
    await finished_report(state, dataset)  # the store is complete only once the analysis has finished
    store = store_dir(state, dataset)
    await asyncio.to_thread(check_export, iter_store(store), fmt)
    return ExportStream(filename=export_filename(dataset.filename, fmt, gzip=gzip),
                        media_type="application/gzip" if gzip else "application/x-ndjson",
                        body=export_store(store, fmt, gzip=gzip))
