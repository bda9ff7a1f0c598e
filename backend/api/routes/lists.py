"""GET /preview/{session_id}/duplicates/{kind} and /preview/{session_id}/issues/{code}: complete lists, paged."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from backend.api.deps import OptionalUserDep, StateDep
from backend.api.schemas.lists import DuplicateGroupsPage, IssueRecordsPage
from backend.services import lists

router = APIRouter(tags=["datasets"])


@router.get("/preview/{session_id}/duplicates/{kind}", response_model=DuplicateGroupsPage)
async def duplicate_groups(session_id: str, kind: Literal["exact", "near", "prompt"], state: StateDep,
                           user: OptionalUserDep, page: int = Query(1, ge=1),
                           page_size: int = Query(20, ge=1, le=500)) -> DuplicateGroupsPage:
    """Every duplicate group of one kind, page by page (near: each group's lowest verified similarity)."""
    return DuplicateGroupsPage(**await lists.duplicate_page(state, session_id, user, kind, page, page_size))


@router.get("/preview/{session_id}/issues/{code}", response_model=IssueRecordsPage)
async def issue_records(session_id: str, code: str, state: StateDep, user: OptionalUserDep,
                        page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=500)) -> IssueRecordsPage:
    """Every record one issue of the report concerns, page by page."""
    return IssueRecordsPage(**await lists.issue_page(state, session_id, user, code, page, page_size))
