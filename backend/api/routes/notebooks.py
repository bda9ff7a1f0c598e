"""POST /generate and GET /download/{token}."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from backend.api.deps import ClientKeyDep, OptionalUserDep, StateDep
from backend.api.schemas.notebooks import GenerateRead, GenerateRequest
from backend.core.notebook import DataSource
from backend.services import notebooks as svc

router = APIRouter(tags=["notebooks"])


@router.post("/generate", response_model=GenerateRead)
async def generate(body: GenerateRequest, request: Request, state: StateDep, user: OptionalUserDep,
                   client: ClientKeyDep) -> GenerateRead:
    source = DataSource(kind=body.data_source.kind, location=body.data_source.location,
                        split=body.data_source.split)
    result = await svc.generate_notebook(state, user, client, body.session_id, body.model_id,
                                         body.training_config, source, body.github_token,
                                         report_to=str(request.base_url) if body.report_progress else None)
    return GenerateRead(**svc.generated_payload(result))


@router.get("/download/{token}", response_class=FileResponse)
async def download(token: str, state: StateDep, user: OptionalUserDep) -> FileResponse:
    found = await svc.open_download(state, token, user)
    return FileResponse(found.path, media_type="application/x-ipynb+json", filename=found.filename)
