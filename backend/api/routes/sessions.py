"""Seed 001's training-session verbs, scoped to the signed-in caller (one session per user): start_session,
parameters, upload_dataset, preprocess, training start/stop, status, monitor, model_ready, download_model,
download_results, healthcheck. The state machine is backend.services.sessions.service's; every verb answers
with the session's status dictionary, and a verb in the wrong state is a 409 naming the state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

from backend.api.deps import ClientKeyDep, CurrentUserDep, StateDep
from backend.api.routes.training import output_response
from backend.auth import User
from backend.core.errors import ConflictError
from backend.db.models import Task
from backend.services.hub.tokens import resolve_hub_token
from backend.services.registry.service import model_view
from backend.services.runs.kind import missing_training_packages
from backend.services.sessions import service
from backend.services.sessions.config import SessionConfig
from backend.services.state import AppState
from backend.services.tasks import engine

router = APIRouter(tags=["training sessions"])


@router.get("/start_session")
async def start_session(state: StateDep, user: CurrentUserDep, force_restart: int = Query(0)) -> dict[str, Any]:
    """A new session and its key; 409 while you have one, unless force_restart != 0 (which stops its run)."""
    row = await service.start_session(state, user, force_restart != 0)
    return service.status_view(await service.situation(state, row))


@router.post("/parameters/{key}")
async def set_parameters(key: str, body: SessionConfig, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    """Set the training config (only while the session is in setup)."""
    return service.status_view(await service.set_parameters(state, user, key, body))


@router.get("/parameters")
async def get_parameters(state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    return service.status_view(await service.situation(state, await service.current(state, user)))


@router.post("/upload_dataset/{key}")
async def upload_dataset(key: str, state: StateDep, user: CurrentUserDep, client: ClientKeyDep,
                         train_file: Annotated[UploadFile, File()],
                         test_file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """The train and test files (any format the upload reads); each is analysed at once."""
    return service.status_view(await service.upload(state, user, client, key, train_file, test_file))


@router.post("/preprocess/{key}")
async def preprocess(key: str, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    return service.status_view(await service.preprocess(state, user, key))


@router.get("/preprocess_status")
async def preprocess_status(state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    return service.status_view(await service.situation(state, await service.current(state, user)))


@router.post("/training/start/{key}")
async def start_training(key: str, state: StateDep, user: CurrentUserDep, client: ClientKeyDep,
                         x_huggingface_key: str | None = Header(None)) -> dict[str, Any]:
    token = await resolve_hub_token(state, user, x_huggingface_key)
    return service.status_view(await service.start_training(state, user, client, key, token))


@router.post("/training/stop/{key}")
async def stop_training(key: str, state: StateDep, user: CurrentUserDep,
                        force_restart: int = Query(0)) -> dict[str, Any]:
    return service.status_view(await service.stop_training(state, user, key, force_restart != 0))


@router.get("/status")
async def status(state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    return service.status_view(await service.situation(state, await service.current(state, user)))


@router.get("/monitor/{key}")
async def monitor(key: str, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    """The run's last figures (step, loss, learning rate, tokens/s, ETA), progress and loss curve."""
    now = await service.situation(state, await service.by_key(state, user, key))
    view = service.status_view(now)
    if now.run is None:
        return {**view, "training": None}
    task = engine.task_view(now.run)
    history = await engine.metrics_history(state, now.run)
    return {**view, "training": {"state": task["state"], "progress": task["progress"], "metrics": task["metrics"],
                                 "detailed_status": task["detailed_status"], "error": task["error"],
                                 "history": history, "events_url": f"/tasks/{now.run.id}/events"}}


@router.get("/model_ready/{key}")
async def model_ready(key: str, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    now = await service.situation(state, await service.by_key(state, user, key))
    return {**service.status_view(now), "model_ready": now.state == "trained"}


@router.get("/download_model/{key}", response_model=None)
async def download_model(key: str, state: StateDep, user: CurrentUserDep) -> FileResponse | StreamingResponse:
    """The trained model as a zip: the LoRA adapter of a generator, the fine-tuned classifier or seq2seq model."""
    run = await _trained_run(state, user, key, "the model")
    return output_response(state, run, "adapter" if "adapter" in (run.artifacts or {}) else "model")


@router.get("/download_results/{key}", response_model=None)
async def download_results(key: str, state: StateDep, user: CurrentUserDep) -> FileResponse | StreamingResponse:
    """results.json: config, metrics history, the evaluation on the test file (classification: confusion matrix)."""
    return output_response(state, await _trained_run(state, user, key, "the results"), "results")


@router.post("/import_model/{key}")
async def import_model(key: str, state: StateDep, user: CurrentUserDep, client: ClientKeyDep,
                       model_type: str = Query(..., max_length=20, description="generator or classifier"),
                       model_name: str = Query(..., max_length=200, description="a Hub model id owner/name"),
                       x_huggingface_key: str | None = Header(None)) -> dict[str, Any]:
    """Import a Hub model into your registry; follow it with GET /import_status."""
    token = await resolve_hub_token(state, user, x_huggingface_key)
    task = await service.import_model(state, user, client, key, model_type, model_name, token)
    return {"key": key, "import_task_id": task.id, "state": task.state, "model_name": model_name}


@router.get("/import_status")
async def import_status(state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    row, task = await service.import_state(state, user)
    if task is None:
        return {"key": row.id, "state": "none", "import_task_id": None}
    view = engine.task_view(task)
    return {"key": row.id, "state": task.state, "import_task_id": task.id, "progress": view["progress"],
            "detailed_status": view["detailed_status"], "error": view["error"],
            "imported_model_name": row.imported_model_id}


@router.get("/get_imported_model/{key}", response_model=None)
async def get_imported_model(key: str, state: StateDep, user: CurrentUserDep, on_disk: int = Query(0),
                             tokenizer: int = Query(1)) -> dict[str, Any] | FileResponse | StreamingResponse:
    """The imported model's registry record and files; on_disk=1: the model folder as a zip (tokenizer=0
    leaves the tokenizer files out of the listing)."""
    model, task = await service.imported_model(state, user, key)
    if on_disk:
        return output_response(state, task, "model")
    files = (task.result or {}).get("files") or []
    if not tokenizer:
        files = [name for name in files if not name.startswith(("tokenizer", "vocab", "merges", "special_tokens"))]
    return {**model_view(model), "files": files, "has_tokenizer": (task.result or {}).get("has_tokenizer")}


@router.get("/healthcheck")
async def healthcheck(state: StateDep) -> dict[str, Any]:
    """Whether this server can train now: workers per queue, and the training packages of its own install."""
    workers = await engine.workers_by_queue(state)
    missing = missing_training_packages()
    return {"status": "ok", "workers": workers, "can_train": bool(workers.get("training")) and not missing,
            "gpu_workers": workers.get("gpu", 0), "training_packages_missing": missing}


async def _trained_run(state: AppState, user: User, key: str, what: str) -> Task:
    now = await service.situation(state, await service.by_key(state, user, key))
    if now.state != "trained" or now.run is None:
        stopped = (f" Its last checkpoint: GET /training/runs/{now.run.id}/files/checkpoint."
                   if now.run is not None and now.state in ("stopped", "failed") else "")
        raise ConflictError(f"The training session is {now.state}: {what} can be downloaded once it is trained."
                            + stopped, code="model_not_trained", state=now.state)
    return now.run
