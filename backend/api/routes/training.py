"""Training runs: POST /training/runs (start), GET /training/runs[/{task_id}] (read), GET
/training/runs/{task_id}/files/{name} (downloads), and seed 000's POST /train. Stopping is the engine's
DELETE /tasks/{id}; the loss curve is GET /tasks/{id}/metrics and the events of GET /tasks/{id}/events.
Runs belong to a signed-in user: someone else's is a 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from backend.api.deps import ClientKeyDep, CurrentUserDep, StateDep
from backend.api.routes.jobs import page_links
from backend.api.schemas.training import RunRequest, RunStarted, TrainAccepted, TrainRequest
from backend.db.models import Task
from backend.services.hub.client import check_repo_id
from backend.services.hub.tokens import resolve_hub_token
from backend.services.runs import files, service
from backend.services.runs.service import HubDatasetIn
from backend.services.runs.views import run_view
from backend.services.state import AppState

router = APIRouter(tags=["training"])


@router.post("/training/runs", response_model=RunStarted, status_code=202)
async def start_run(body: RunRequest, state: StateDep, user: CurrentUserDep, client: ClientKeyDep,
                    x_huggingface_key: str | None = Header(None)) -> RunStarted:
    """Train a model on an analysed dataset version (or a Hub dataset, imported first) here, on the workers: CPU
    workers for models up to TRAINING_CPU_MAX_PARAMS_B, GPU workers for larger ones. Answers at once."""
    token = await resolve_hub_token(state, user, x_huggingface_key)
    started = await service.start_run(state, user, client, body, token)
    return RunStarted(task_id=started.task.id, state=started.task.state, model_name=started.model.id,
                      queue=started.task.queue, run_url=f"/training/runs/{started.task.id}",
                      events_url=f"/tasks/{started.task.id}/events")


@router.get("/training/runs")
async def list_runs(request: Request, response: Response, state: StateDep, user: CurrentUserDep,
                    limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    """Your runs, newest first (paging: X-Total-Count and Link headers)."""
    tasks, total = await service.list_runs(state, user, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    response.headers["Link"] = page_links(request, limit, offset, total)
    views = []
    for task in tasks:
        _, model = await service.get_run(state, user, task.id)
        views.append(run_view(state.settings, task, model))
    return views


@router.get("/training/runs/{task_id}")
async def get_run(task_id: str, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    task, model = await service.get_run(state, user, task_id)
    return run_view(state.settings, task, model)


@router.get("/training/runs/{task_id}/files/{name}", response_model=None,
            responses={200: {"content": {"application/zip": {}, "application/json": {}}}})
async def download(task_id: str, name: str, state: StateDep, user: CurrentUserDep) -> FileResponse | StreamingResponse:
    """adapter, merged, model or checkpoint as a zip (streamed), results as results.json."""
    task, _ = await service.get_run(state, user, task_id)
    return output_response(state, task, name)


def output_response(state: AppState, task: Task, name: str) -> FileResponse | StreamingResponse:
    """One of a run's outputs: results.json as a file, a folder as a zip streamed while it is written."""
    output = files.open_output(state.settings, task, name)
    if not output.is_folder:
        return FileResponse(output.path, media_type="application/json", filename=f"results-{task.id[:8]}.json")
    root = f"{name}-{task.id[:8]}" + (f"-step{output.step}" if output.step is not None else "")
    return StreamingResponse(iterate_in_threadpool(files.zip_chunks(output.path, root)), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{root}.zip"'})


@router.post("/train", response_model=TrainAccepted, status_code=200)
async def train(body: TrainRequest, state: StateDep, user: CurrentUserDep, client: ClientKeyDep,
                x_openai_key: str | None = Header(None, description="accepted for seed 000's clients; not used"),
                x_huggingface_key: str | None = Header(None)) -> TrainAccepted:
    """Seed 000: fine-tune `model` on `dataset` (a session id, or a Hub dataset id at revision `version`, imported
    first); the model is registered as `save_path`. Track it with GET /track/{task_id}."""
    token = await resolve_hub_token(state, user, x_huggingface_key)
    hub = "/" in body.dataset
    request = RunRequest(
        session_id=None if hub else body.dataset,
        hub_dataset=HubDatasetIn(repo=check_repo_id(body.dataset), revision=body.version) if hub else None,
        model=body.model, task=body.task, epochs=body.epochs, name=body.save_path)
    started = await service.start_run(state, user, client, request, token)
    return TrainAccepted(task_id=started.task.id)
