"""The complete record lists of an analysed dataset, page by page: every member of every duplicate
group, every record an issue concerns (the report lists only the first few of each).

The page functions over a store directory (`duplicate_page_at`, `issue_page_at`) are what the engine
points at the right store; `duplicate_page` / `issue_page` add the access check previews.py makes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from backend.auth import User
from backend.core.analysis import Report, read_duplicate_groups, read_issue_records
from backend.core.errors import NotFoundError
from backend.services.datasets import analysed
from backend.services.state import AppState


def duplicate_page_at(store_dir: Path, kind: str, page: int, page_size: int) -> dict[str, Any]:
    found = read_duplicate_groups(store_dir, kind, page, page_size)
    return {
        "kind": found.kind, "total_groups": found.total_groups, "total_records": found.total_records,
        "page": found.page, "page_size": found.page_size, "total_pages": found.total_pages,
        "groups": [{"group": g.group, "size": g.size, "similarity": g.similarity,
                    "members": [ref.model_dump() for ref in g.members]} for g in found.groups],
    }


def issue_page_at(store_dir: Path, report: Report, code: str, page: int, page_size: int) -> dict[str, Any]:
    issue = report.issue(code)
    if issue is None:
        raise NotFoundError(f"The analysis found no issue '{code[:64]}' in this dataset.", code="issue_not_found")
    if not issue.examples:  # an issue about the file as a whole, named once (e.g. too_few_examples)
        return {"code": code, "count": issue.count, "page": page, "page_size": page_size, "total_pages": 1,
                "records": []}
    found = read_issue_records(store_dir, code, page, page_size)
    return {"code": code, "count": found.count, "page": found.page, "page_size": found.page_size,
            "total_pages": found.total_pages, "records": [ref.model_dump() for ref in found.records]}


async def duplicate_page(state: AppState, session_id: str, user: User | None, kind: str, page: int,
                         page_size: int) -> dict[str, Any]:
    _, store = await analysed(state, session_id, user)  # access check; the lists exist once analysed
    return await asyncio.to_thread(duplicate_page_at, store, kind, page, page_size)


async def issue_page(state: AppState, session_id: str, user: User | None, code: str, page: int,
                     page_size: int) -> dict[str, Any]:
    report, store = await analysed(state, session_id, user)
    return await asyncio.to_thread(issue_page_at, store, report, code, page, page_size)
