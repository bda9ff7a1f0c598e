"""Reading an analysed dataset back: paged examples (searched, filtered, sorted), the distribution, the
duplicates."""

from __future__ import annotations

import asyncio
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.auth import User
from backend.core.analysis import Report
from backend.core.analysis.store import INDEX_FILE, StoredExample
from backend.core.browse import (
    ExampleQuery,
    Selection,
    example_language,
    log_histogram,
    position_in,
    read_positions,
    select_examples,
    token_counts,
)
from backend.core.browse.select import Positions
from backend.core.errors import NotFoundError
from backend.services.datasets import analysed
from backend.services.state import AppState

SCAN_CACHE_ENTRIES = 16
SCAN_CACHE_MAX_POSITIONS = 2_000_000  # ~16 MB; a larger match list is recomputed instead of kept


class ScanCache:
    """The last few text scans per store: paging through search results must not rescan the dataset.

    Keyed by the store's index file and its modification time, so a re-analysis never serves old matches.
    """

    def __init__(self, entries: int = SCAN_CACHE_ENTRIES) -> None:
        self._entries = entries
        self._found: OrderedDict[tuple[Any, ...], Positions] = OrderedDict()
        self._lock = threading.Lock()

    def for_store(self, store: Path) -> Callable[[ExampleQuery, Callable[[], Positions]], Positions]:
        index = store / INDEX_FILE
        stamp = index.stat().st_mtime_ns if index.exists() else 0

        def lookup(query: ExampleQuery, compute: Callable[[], Positions]) -> Positions:
            key = (str(store), stamp, *query.scan_key())
            with self._lock:
                if key in self._found:
                    self._found.move_to_end(key)
                    return self._found[key]
            found = compute()
            if found.size <= SCAN_CACHE_MAX_POSITIONS:
                with self._lock:
                    self._found[key] = found
                    while len(self._found) > self._entries:
                        self._found.popitem(last=False)
            return found

        return lookup


scan_cache = ScanCache()


def _example_json(example: Any, position: int) -> dict[str, Any]:
    return {"index": example.index, "line": example.line, "position": position, "messages": example.messages,
            "tools": example.tools, "token_count": example.token_count,
            "assistant_tokens": example.assistant_tokens,
            "language": example_language({"messages": example.messages, "chosen": example.chosen,
                                          "completion": example.completion}),
            **_preference_parts(example)}


def _page_of(selection: Selection, store: Path, at_record: int | None, report: Report,
             page: int, page_size: int) -> int:
    """The page to show: the one holding `at_record` when asked for, else `page`."""
    if at_record is None:
        return page
    found = position_in(store, selection, at_record)
    if found is None:
        raise _record_not_shown(report, at_record)
    return found // page_size + 1


def _record_not_shown(report: Report, record: int) -> NotFoundError:
    unusable = next((u for u in report.unusable if u.index == record), None)
    if unusable is not None:
        where = f" (line {unusable.line})" if unusable.line else ""
        return NotFoundError(f"Record #{record}{where} could not be used: {unusable.message}",
                             code="record_unusable", record=record)
    if record >= report.records_total:
        return NotFoundError(f"There is no record #{record}: the file has {report.records_total:,} records "
                             f"(numbered from 0).", code="record_out_of_range", record=record)
    return NotFoundError(f"Record #{record} is not among the examples these filters show; clear the filters "
                         "to see it.", code="record_filtered_out", record=record)


def _browse(store: Path, query: ExampleQuery, at_record: int | None, report: Report, page: int,
            page_size: int) -> dict[str, Any]:
    """CPU and disk work of one preview page; runs in a worker thread."""
    selection = select_examples(store, query, scan_cache.for_store(store))
    page = _page_of(selection, store, at_record, report, page, page_size)
    start = (page - 1) * page_size
    chosen = selection.positions[start:start + page_size]
    examples = [_example_json(e, int(p)) for e, p in zip(read_positions(store, chosen), chosen, strict=True)]
    total = int(selection.positions.size)
    return {"examples": examples, "total_count": total, "page": page, "page_size": page_size,
            "total_pages": max(1, math.ceil(total / page_size)), "total_examples": selection.total_examples,
            "missing_records": list(selection.missing_records)}


def _preference_parts(example: StoredExample) -> dict[str, Any]:
    """The answers of a preference example (its messages are the prompt); nothing for chat data."""
    parts = {"chosen": example.chosen, "rejected": example.rejected, "completion": example.completion,
             "label": example.label}
    return {key: value for key, value in parts.items() if value is not None}


async def preview_page(state: AppState, session_id: str, user: User | None, page: int, page_size: int,
                       query: ExampleQuery | None = None, at_record: int | None = None) -> dict[str, Any]:
    """One page of the examples that match `query`, in its order (file order by default)."""
    report, store = await analysed(state, session_id, user)
    return await asyncio.to_thread(_browse, store, query or ExampleQuery(), at_record, report, page, page_size)


def _log_histogram(store: Path) -> list[dict[str, int]]:
    return [{"lo": b.lo, "hi": b.hi, "count": b.count} for b in log_histogram(token_counts(store))]


async def distribution(state: AppState, session_id: str, user: User | None) -> dict[str, Any]:
    report, store = await analysed(state, session_id, user)
    dists = report.distributions
    bins = await asyncio.to_thread(_log_histogram, store)
    return {
        **report.preview.model_dump(),
        "tokens_per_example": dists.tokens_per_example.model_dump(),
        "messages_per_example": dists.messages_per_example.model_dump(),
        "assistant_tokens_per_example": dists.assistant_tokens_per_example.model_dump(),
        "tokens_by_role": report.tokens_by_role,
        "tokens_log_histogram": bins,
        "max_seq_length": report.truncation.max_seq_length,
        "examples_over_max_seq_length": report.truncation.examples_over,
    }


def duplicates(report: Report) -> dict[str, Any]:
    dup = report.duplicates
    return {**report.duplicates_summary(), "exact": dup.exact.model_dump(), "near": dup.near.model_dump(),
            "prompt": dup.prompt.model_dump()}
