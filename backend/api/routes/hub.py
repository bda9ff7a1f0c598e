"""The Hugging Face Hub: POST /datasets/{session_id}/push and /append, POST /upload/hub (each a task, answered
at once), and the signed-in user's saved token, GET|PUT|DELETE /settings/hub-token (never read back).

The token comes from the X-HuggingFace-Key header, else the signed-in user's saved one; it goes only into the
task's encrypted secrets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from backend.api.deps import ClientKeyDep, CurrentUserDep, OptionalUserDep, StateDep
from backend.api.schemas.hub import (
    AppendRequest,
    HubImportRequest,
    HubTaskStarted,
    HubTokenRead,
    HubTokenWrite,
    PushRequest,
)
from backend.services.hub import submit, tokens

router = APIRouter(tags=["hub"])


@router.get("/settings/hub-token", response_model=HubTokenRead)
async def hub_token(state: StateDep, user: CurrentUserDep) -> HubTokenRead:
    """Whether a token is saved, and whose it is; the token itself is never sent back."""
    return HubTokenRead(**await tokens.hub_token_status(state, user))


@router.put("/settings/hub-token", response_model=HubTokenRead)
async def save_hub_token(body: HubTokenWrite, state: StateDep, user: CurrentUserDep) -> HubTokenRead:
    """Check the token with the Hub (whoami), then keep it encrypted for this user's Hub tasks."""
    return HubTokenRead(**await tokens.save_hub_token(state, user, body.token))


@router.delete("/settings/hub-token", status_code=204)
async def forget_hub_token(state: StateDep, user: CurrentUserDep) -> Response:
    await tokens.forget_hub_token(state, user)
    return Response(status_code=204)


HubKey = Annotated[str | None, Header(alias="X-HuggingFace-Key", description="a Hugging Face access token")]


@router.post("/datasets/{session_id}/push", response_model=HubTaskStarted, status_code=202)
async def push(session_id: str, body: PushRequest, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
               hf_key: HubKey = None) -> HubTaskStarted:
    """Push this analysed version in leak-free splits (Parquet) with a dataset card, in one commit; private by
    default. 401 `hub_token_missing` without a token; the Hub's own answers become the task's error."""
    task = await submit.start_push(state, session_id, user, client, hf_key, **body.model_dump())
    return HubTaskStarted(task_id=task.id, session_id=session_id,
                          message="Push queued. Follow it with GET /tasks/{task_id}; its result links the repo.")


@router.post("/datasets/{session_id}/append", response_model=HubTaskStarted, status_code=202)
async def append(session_id: str, body: AppendRequest, state: StateDep, user: OptionalUserDep,
                 client: ClientKeyDep, hf_key: HubKey = None) -> HubTaskStarted:
    """Add this version's examples to one split of an existing Hub dataset, leaving out rows it already has."""
    task = await submit.start_append(state, session_id, user, client, hf_key, repo=body.repo, split=body.split)
    return HubTaskStarted(task_id=task.id, session_id=session_id,
                          message="Append queued. Follow it with GET /tasks/{task_id}.")


@router.post("/upload/hub", response_model=HubTaskStarted, status_code=202)
async def import_from_hub(body: HubImportRequest, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                          hf_key: HubKey = None) -> HubTaskStarted:
    """Import one split of a Hub dataset as a new dataset, analysed like an upload. GET /analyze/{session_id}
    answers 202 `importing` while the import runs, then as for an upload (or with the import's error)."""
    task = await submit.start_import(state, user, client, hf_key, repo=body.repo, config=body.config,
                                     split=body.split, revision=body.revision)
    return HubTaskStarted(task_id=task.id, session_id=task.id,
                          message="Import queued. Poll GET /analyze/{session_id} as after an upload.")
