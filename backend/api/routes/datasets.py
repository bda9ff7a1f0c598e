"""POST /upload, GET|POST /analyze/{session_id}, GET /preview/{session_id}[/distribution|/duplicates]."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from backend.api.deps import ClientKeyDep, OptionalUserDep, StateDep
from backend.api.schemas.datasets import (
    AnalysisProgress,
    AnalysisRequest,
    DistributionRead,
    DuplicatesRead,
    PreviewFilters,
    PreviewPage,
    UploadRead,
)
from backend.api.schemas.mapping import json_mapping
from backend.services import datasets as svc
from backend.services import previews
from backend.services.reports import analysis_payload

router = APIRouter(tags=["datasets"])


@router.post("/upload", response_model=UploadRead, status_code=200)
async def upload(request: Request, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                 max_seq_length: int | None = Query(None, ge=16, le=1_048_576),
                 tokenizer: str | None = Query(None, max_length=200),
                 field_mapping: str | None = Query(None, max_length=8000, description='JSON: {"prompt": "question"}'),
                 role_mapping: str | None = Query(None, max_length=8000, description='JSON: {"bot": "assistant"}'),
                 ) -> UploadRead:
    options = svc.analysis_options(state, max_seq_length, tokenizer, field_mapping=json_mapping(field_mapping),
                                   role_mapping=json_mapping(role_mapping))
    result = await svc.upload_dataset(state, user, client, request.headers.get("content-type"),
                                      request.stream(), options)
    return UploadRead(**result.__dict__)


@router.get("/analyze/{session_id}", responses={202: {"model": AnalysisProgress}})
async def analyze(session_id: str, state: StateDep, user: OptionalUserDep, client: ClientKeyDep) -> Any:
    """200 with the report once the analysis is done; 202 with its progress (and the figures of the chunks done
    so far, under `partial`) while it runs. For a version a task is still making (a fix, a Hub import), 202
    with status `fixing` or `importing` and that task's id, or that task's error once it failed."""
    current = await svc.analysis_status(state, session_id, user, client)
    if current.report is None:
        return JSONResponse(analysis_progress(session_id, current).model_dump(), status_code=202)
    return analysis_payload(session_id, current.report, current.filename)


@router.post("/analyze/{session_id}", status_code=202, response_model=AnalysisProgress)
async def reanalyze(session_id: str, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                    body: AnalysisRequest | None = None) -> AnalysisProgress:
    """Run the analysis again: after a failure, or with another tokenizer or max_seq_length."""
    body = body or AnalysisRequest()
    task = await svc.reanalyze(state, session_id, user, client, body.max_seq_length, body.tokenizer,
                               body.field_mapping, body.role_mapping)
    return AnalysisProgress(session_id=session_id, status="queued", progress=0.0, task_id=task.id,
                            detailed_status=list(task.detailed_status),
                            message="Analysis queued. Poll GET /analyze/{session_id}.")


def analysis_progress(session_id: str, current: svc.AnalysisStatus) -> AnalysisProgress:
    task = current.task
    return AnalysisProgress(
        session_id=session_id, status=current.status, progress=round(current.progress, 4),
        task_id=task.id if task else None, detailed_status=list(task.detailed_status) if task else [],
        partial=current.partial, filename=current.filename,
        message=f"{MAKING.get(current.status, 'Analysis')} {current.status}: {current.progress:.0%} done. "
                "Poll again shortly.")


# datasets out: what is being made while GET /analyze answers for a version without a row yet
MAKING = {"fixing": "Fixed version", "importing": "Import from the Hub"}


@router.get("/preview/{session_id}", response_model=PreviewPage)
async def preview(session_id: str, state: StateDep, user: OptionalUserDep,
                  filters: Annotated[PreviewFilters, Query()],
                  page: int = Query(1, ge=1), page_size: int = Query(5, ge=1, le=100)) -> PreviewPage:
    """Examples, paged; optionally searched (q, role, language), filtered by length or record numbers,
    sorted by tokens, or answered at the page that holds `at_record`."""
    return PreviewPage(**await previews.preview_page(state, session_id, user, page, page_size,
                                                     filters.to_query(), filters.at_record))


@router.get("/preview/{session_id}/distribution", response_model=DistributionRead)
async def distribution(session_id: str, state: StateDep, user: OptionalUserDep) -> DistributionRead:
    return DistributionRead(**await previews.distribution(state, session_id, user))


@router.get("/preview/{session_id}/duplicates", response_model=DuplicatesRead)
async def duplicates(session_id: str, state: StateDep, user: OptionalUserDep) -> DuplicatesRead:
    return DuplicatesRead(**previews.duplicates(await svc.load_report(state, session_id, user)))
