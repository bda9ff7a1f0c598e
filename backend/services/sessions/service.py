"""Seed 001's training session: one per signed-in user (not one per server), a state machine over the product's
own datasets and tasks.

    setup ──upload_dataset / parameters──▶ setup ──preprocess──▶ preprocessing ──▶ ready | preprocess_failed
    ready ──training/start──▶ training ──▶ trained | failed ;  training ──training/stop──▶ stopping ──▶ stopped
    preprocess_failed ──upload_dataset / parameters──▶ setup (to try again)
    any state ──start_session?force_restart=1──▶ (a running run is stopped, the session wiped) setup

The row keeps only what the user asked for (`phase`: setup | preprocess | train, the config, the files and the
run); the state is read from the tasks themselves (the files' analyses, the training run), which are the one
truth about running work, so a session never says "training" about a run that has ended. Uploading stores
each file as a dataset of the user's and starts its analysis (the preprocessing); preprocess freezes the
files and config and waits for those analyses; training/start starts a training run (backend.services.runs)
with the train file as its data and the test file as its evaluation set. A request in the wrong state is a
409 that says the state and what to do.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from backend.auth import User
from backend.core.errors import ConflictError, NotFoundError
from backend.db import tasks as task_repo
from backend.db import training as repo
from backend.db.models import ACTIVE_TASK_STATES, Dataset, RegisteredModel, Task, TrainingSession
from backend.db.types import utc_now
from backend.services import datasets as data_svc
from backend.services.registry.imports import start_import
from backend.services.registry.service import get_model
from backend.services.runs import service as runs
from backend.services.sessions.config import SessionConfig, merged, run_request, unused_fields
from backend.services.state import AppState
from backend.services.tasks import engine

CONFIGURABLE = ("setup", "preprocess_failed")


class UploadFile(Protocol):
    """A file a request carried (the API's UploadFile): its name and its bytes, read in pieces."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...
RUN_STATES = {"QUEUED": "training", "RUNNING": "training", "CANCELLING": "stopping", "DONE": "trained",
              "CANCELLED": "stopped", "ERROR": "failed"}


@dataclass(frozen=True)
class Situation:
    row: TrainingSession
    state: str
    analyses: dict[str, Task | None]  # "train" / "test" → the file's current analysis
    run: Task | None


# --- finding the session ------------------------------------------------------------------------------------------


def no_session() -> NotFoundError:
    return NotFoundError("You have no training session: start one with GET /start_session.",
                         code="training_session_not_found")


async def current(state: AppState, user: User) -> TrainingSession:
    async with state.session() as session:
        row = await session.run_sync(repo.session_of, user.id)
    if row is None:
        raise no_session()
    return row


async def by_key(state: AppState, user: User, key: str) -> TrainingSession:
    """Your session, when `key` is its key (a wrong key, or someone else's, is a 404)."""
    row = await current(state, user)
    if not secrets.compare_digest(row.id, key):
        raise NotFoundError("This is not the key of your training session (GET /parameters shows it; GET "
                            "/start_session?force_restart=1 starts a new one).", code="training_session_not_found")
    return row


async def situation(state: AppState, row: TrainingSession) -> Situation:
    async with state.session() as session:
        analyses: dict[str, Task | None] = {}
        for name, dataset_id in (("train", row.train_dataset_id), ("test", row.test_dataset_id)):
            if dataset_id is None:
                continue
            dataset = await session.get(Dataset, dataset_id, populate_existing=True)
            task_id = dataset.analysis_task_id if dataset else None
            analyses[name] = await session.run_sync(task_repo.get_task, task_id) if task_id else None
        run = await session.run_sync(task_repo.get_task, row.training_task_id) if row.training_task_id else None
    return Situation(row, state_of(row, analyses, run), analyses, run)


def state_of(row: TrainingSession, analyses: dict[str, Task | None], run: Task | None) -> str:
    if row.phase == "setup":
        return "setup"
    if row.phase == "preprocess":
        tasks = list(analyses.values())
        if any(task is None or task.state in ("ERROR", "CANCELLED") for task in tasks):
            return "preprocess_failed"
        return "ready" if all(task is not None and task.state == "DONE" for task in tasks) else "preprocessing"
    return RUN_STATES[run.state] if run is not None else "failed"


def wrong_state(now: Situation, action: str, allowed: tuple[str, ...], what_to_do: str) -> ConflictError:
    return ConflictError(f"The training session is {now.state}: {action} is possible only when it is "
                         f"{' or '.join(allowed)}. {what_to_do}", code="wrong_session_state", state=now.state)


def require(now: Situation, action: str, allowed: tuple[str, ...], what_to_do: str) -> None:
    if now.state not in allowed:
        raise wrong_state(now, action, allowed, what_to_do)


# --- the verbs ------------------------------------------------------------------------------------------------------


async def start_session(state: AppState, user: User, force_restart: bool) -> TrainingSession:
    async with state.session() as session:
        existing = await session.run_sync(repo.session_of, user.id)
    if existing is not None:
        if not force_restart:
            raise ConflictError("You already have a training session (GET /status shows it). Start over with "
                                "GET /start_session?force_restart=1: its run, if any, is stopped.",
                                code="training_session_exists", key=existing.id)
        await _wipe(state, user, existing)
    now = utc_now()
    row = TrainingSession(id=secrets.token_urlsafe(24), owner_id=user.id, phase="setup", config={},
                          created_at=now, updated_at=now)
    try:
        async with state.session() as session:
            await session.run_sync(repo.add_training_session, row)
    except IntegrityError as exc:  # another request started one at the same moment
        raise ConflictError("A training session was started by another request just now; GET /status shows it.",
                            code="training_session_exists") from exc
    return row


async def _wipe(state: AppState, user: User, row: TrainingSession) -> None:
    """Stop the session's run if it is still going, then forget the session (its datasets and model stay)."""
    if row.training_task_id:
        with contextlib.suppress(ConflictError, NotFoundError):  # it has ended, or it is gone: nothing to stop
            await engine.cancel(state, row.training_task_id, user)
    async with state.session() as session:
        await session.run_sync(repo.delete_training_session, row.id)


async def set_parameters(state: AppState, user: User, key: str, update: SessionConfig) -> Situation:
    now = await situation(state, await by_key(state, user, key))
    require(now, "configuring", CONFIGURABLE, _restart_hint(now))
    config = merged(now.row.config or {}, update)
    if config.get("training_config"):
        from backend.core.notebook import TrainingConfig

        TrainingConfig(**config["training_config"])  # the notebook's own validation
    return await _update(state, now.row, phase="setup", config=config)


async def upload(state: AppState, user: User, client: str, key: str, train_file: UploadFile,
                 test_file: UploadFile) -> Situation:
    """Each file becomes a dataset of yours and is analysed at once (the session's preprocessing)."""
    now = await situation(state, await by_key(state, user, key))
    require(now, "uploading datasets", CONFIGURABLE, _restart_hint(now))
    options = data_svc.analysis_options(state)
    ids: list[str] = []
    for upload_file in (train_file, test_file):
        content_type, body = as_file_part(upload_file)
        result = await data_svc.upload_dataset(state, user, client, content_type, body, options)
        ids.append(result.session_id)
    return await _update(state, now.row, phase="setup", train_dataset_id=ids[0], test_dataset_id=ids[1])


async def preprocess(state: AppState, user: User, key: str) -> Situation:
    now = await situation(state, await by_key(state, user, key))
    require(now, "preprocessing", CONFIGURABLE, _restart_hint(now))
    if now.row.train_dataset_id is None or now.row.test_dataset_id is None:
        raise ConflictError("Upload the train and test files first: POST /upload_dataset/{key} with train_file "
                            "and test_file.", code="datasets_missing", state=now.state)
    return await _update(state, now.row, phase="preprocess")


async def start_training(state: AppState, user: User, client: str, key: str, hub_token: str | None) -> Situation:
    now = await situation(state, await by_key(state, user, key))
    hint = ("Wait for GET /preprocess_status to say ready." if now.state == "preprocessing"
            else "Call POST /preprocess/{key} first." if now.state in CONFIGURABLE else _restart_hint(now))
    require(now, "starting training", ("ready",), hint)
    assert now.row.train_dataset_id is not None
    request = run_request(now.row.config or {}, now.row.train_dataset_id, now.row.test_dataset_id)
    started = await runs.start_run(state, user, client, request, hub_token)
    return await _update(state, now.row, phase="train", training_task_id=started.task.id, model_id=started.model.id)


async def stop_training(state: AppState, user: User, key: str, force_restart: bool) -> Situation:
    """Stop the run at the end of its current step (it ends stopped, its checkpoint kept); with force_restart,
    the session is then wiped and a new one started."""
    now = await situation(state, await by_key(state, user, key))
    require(now, "stopping", ("training",), "There is no training running to stop.")
    assert now.run is not None
    await engine.cancel(state, now.run.id, user)
    if force_restart:
        row = await start_session(state, user, force_restart=True)
        return await situation(state, row)
    return await situation(state, await current(state, user))


async def import_model(state: AppState, user: User, client: str, key: str, model_type: str, model_name: str,
                       token: str | None) -> Task:
    """Import a Hub model into your registry (a task of kind model_import); one import at a time per session."""
    row = await by_key(state, user, key)
    running = await _import_task(state, row)
    if running is not None and running.state in ACTIVE_TASK_STATES:
        raise ConflictError(f"An import is already running (task {running.id}); GET /import_status follows it.",
                            code="import_running", state="importing", task_id=running.id)
    task = await start_import(state, user, client, repo=model_name, model_type=model_type, revision=None,
                              token=token, training_session=row.id)
    await _update(state, row, import_task_id=task.id, imported_model_id=None)
    return task


async def import_state(state: AppState, user: User) -> tuple[TrainingSession, Task | None]:
    row = await current(state, user)
    return row, await _import_task(state, row)


async def _import_task(state: AppState, row: TrainingSession) -> Task | None:
    if row.import_task_id is None:
        return None
    async with state.session() as session:
        return await session.run_sync(task_repo.get_task, row.import_task_id)


async def imported_model(state: AppState, user: User, key: str) -> tuple[RegisteredModel, Task]:
    row = await by_key(state, user, key)
    task = await _import_task(state, row)
    if task is None or task.state != "DONE" or row.imported_model_id is None:
        now = "none" if task is None else task.state
        raise ConflictError(f"No imported model yet (import: {now}). POST /import_model/{{key}} starts one; GET "
                            "/import_status follows it.", code="import_not_ready", state=now)
    return await get_model(state, user, row.imported_model_id), task


def _restart_hint(now: Situation) -> str:
    if now.state in ("training", "stopping"):
        return "Stop the run first (POST /training/stop/{key}), or start over with GET /start_session?force_restart=1."
    if now.state in ("preprocessing", "ready"):
        return "The files and config are fixed once preprocessing starts; start over with GET " \
               "/start_session?force_restart=1 to change them."
    return "Start a new session with GET /start_session?force_restart=1."


async def _update(state: AppState, row: TrainingSession, **values: Any) -> Situation:
    async with state.session() as session:
        updated = await session.run_sync(lambda s: repo.update_training_session(s, row.id, **values))
    return await situation(state, updated)


# --- views ------------------------------------------------------------------------------------------------------


def status_view(now: Situation) -> dict[str, Any]:
    """The server status dictionary every verb answers with."""
    row = now.row
    return {
        "key": row.id,
        "state": now.state,
        "phase": row.phase,
        "config": row.config or {},
        "config_not_used": unused_fields(row.config or {}),
        "train_dataset_id": row.train_dataset_id,
        "test_dataset_id": row.test_dataset_id,
        "preprocess": {name: _analysis_view(task) for name, task in now.analyses.items()},
        "training_task_id": row.training_task_id,
        "model_name": row.model_id,
        "run_active": now.run is not None and now.run.state in ACTIVE_TASK_STATES,
        "updated_at": row.updated_at.isoformat(),
    }


def _analysis_view(task: Task | None) -> dict[str, Any]:
    if task is None:
        return {"state": "missing", "task_id": None}
    view = engine.task_view(task)
    return {"state": task.state, "task_id": task.id, "progress": view["progress"], "error": view["error"]}


def as_file_part(upload_file: UploadFile) -> tuple[str, AsyncIterator[bytes]]:
    """An uploaded file as the `file` part of a multipart body, which the product's upload streams to disk
    (its size limit, hashing and analysis admission then apply to each of the session's files alike)."""
    boundary = secrets.token_hex(16)
    filename = (upload_file.filename or "dataset.jsonl").replace('"', "").replace("\r", "").replace("\n", "")

    async def body() -> AsyncIterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
               "Content-Type: application/octet-stream\r\n\r\n").encode()
        while chunk := await upload_file.read(1 << 20):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    return f"multipart/form-data; boundary={boundary}", body()

