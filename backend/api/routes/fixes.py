"""Fix-it versions: POST /datasets/{session_id}/fixes/plan (counts, nothing written) and POST .../fixes (a task
that makes a new, analysed version; the original stays)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.api.deps import ClientKeyDep, OptionalUserDep, StateDep
from backend.core.fix import FixAction, FixPlan
from backend.services import fixes

router = APIRouter(tags=["fixes"])


class FixRequest(BaseModel):
    actions: list[FixAction] = Field(description="applied in the product's order, whatever the order given")
    max_seq_length: int | None = Field(None, ge=16, le=1_048_576,
                                       description="for drop_over_length / flag_over_length; default the analysis'")


class FixStarted(BaseModel):
    task_id: str = Field(description="the fix task (GET /tasks/{task_id}); its result names the new version")
    session_id: str = Field(description="the new version: GET /analyze/{session_id} answers 202 `fixing`, then "
                                        "as for an upload")
    message: str


@router.post("/datasets/{session_id}/fixes/plan", response_model=FixPlan)
async def plan_fixes(session_id: str, body: FixRequest, state: StateDep, user: OptionalUserDep) -> FixPlan:
    """Before and after counts per action, and the first record numbers each would remove or change."""
    return await fixes.plan_dataset_fixes(state, session_id, user, body.actions, body.max_seq_length)


@router.post("/datasets/{session_id}/fixes", response_model=FixStarted, status_code=202)
async def apply_fixes(session_id: str, body: FixRequest, state: StateDep, user: OptionalUserDep,
                      client: ClientKeyDep) -> FixStarted:
    """Make a new version with the fixes applied (a task); it is analysed like an upload once written."""
    task = await fixes.start_fix(state, session_id, user, client, body.actions, body.max_seq_length)
    return FixStarted(task_id=task.id, session_id=task.id,
                      message="Fixing queued. Open the new version with GET /analyze/{session_id}.")
