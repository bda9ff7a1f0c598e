"""Reading an analysed dataset back: paged examples, the distribution, the duplicates."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from backend.auth import User
from backend.core.analysis import Report
from backend.core.analysis.store import StoredExample, count_examples, read_examples
from backend.services import storage
from backend.services.datasets import load_report
from backend.services.state import AppState


async def preview_page(state: AppState, session_id: str, user: User | None, page: int,
                       page_size: int) -> dict[str, Any]:
    await load_report(state, session_id, user)  # access check, and the store exists only once analysed
    store = storage.store_dir(state.settings, session_id)
    total = await asyncio.to_thread(count_examples, store)
    start = (page - 1) * page_size
    stored = await asyncio.to_thread(read_examples, store, start, page_size) if start < total else []
    examples = [{"index": e.index, "line": e.line, "messages": e.messages, "tools": e.tools,
                 "token_count": e.token_count, "assistant_tokens": e.assistant_tokens,
                 **_preference_parts(e)} for e in stored]
    return {"examples": examples, "total_count": total, "page": page, "page_size": page_size,
            "total_pages": max(1, math.ceil(total / page_size))}


def _preference_parts(example: StoredExample) -> dict[str, Any]:
    """The answers of a preference example (its messages are the prompt); nothing for chat data."""
    parts = {"chosen": example.chosen, "rejected": example.rejected, "completion": example.completion,
             "label": example.label}
    return {key: value for key, value in parts.items() if value is not None}


def distribution(report: Report) -> dict[str, Any]:
    dists = report.distributions
    return {
        **report.preview.model_dump(),
        "tokens_per_example": dists.tokens_per_example.model_dump(),
        "messages_per_example": dists.messages_per_example.model_dump(),
        "assistant_tokens_per_example": dists.assistant_tokens_per_example.model_dump(),
        "tokens_by_role": report.tokens_by_role,
    }


def duplicates(report: Report) -> dict[str, Any]:
    dup = report.duplicates
    return {**report.duplicates_summary(), "exact": dup.exact.model_dump(), "near": dup.near.model_dump(),
            "prompt": dup.prompt.model_dump()}
