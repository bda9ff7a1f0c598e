"""A Colab run reporting back: a per-run bearer token that only allows posting progress to that run.

    run, token = await open_run(state, user, model_id, dataset_id)   # the token is shown once; its hash is kept
    task = await report(state, run_id, token, record)                  # a wrong token: 401, never another run

A run's first report makes it a task of kind "colab_training", RUNNING from then on, so GET /tasks/{id}, its
events (SSE), GET /tasks/{id}/metrics (the loss curve) and /track show it like an in-app run. No worker runs
it: the notebook does, so the server writes its progress the way a worker would (the engine's own queries),
and each report extends the task's lease by COLAB_REPORT_SILENCE_MINUTES: a notebook that falls silent (its
Colab session ended) is then ended by the engine's recovery like a lost worker (ERROR worker_lost). The record
of the last step (step == max_steps) ends it DONE. A stop asked for with DELETE /tasks/{id} is answered to the
notebook as {"stop": true}.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from backend.auth import User
from backend.core.errors import ConflictError, UnauthorizedError
from backend.db import tasks as task_repo
from backend.db import training as repo
from backend.db.models import ColabRun, Task
from backend.db.types import utc_now
from backend.services.datasets import client_key
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.tasks.context import TaskContext

KIND = "colab_training"
WORKER = "colab-notebook"  # who the task says runs it


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def open_run(state: AppState, user: User, model_id: str, dataset_id: str | None,
                   notebook_id: str | None = None) -> tuple[ColabRun, str]:
    token = secrets.token_urlsafe(32)
    run = ColabRun(id=secrets.token_hex(16), owner_id=user.id, token_sha256=token_hash(token), model_id=model_id,
                   dataset_id=dataset_id, notebook_id=notebook_id, reports=0, created_at=utc_now())
    async with state.session() as session:
        await session.run_sync(repo.add_colab_run, run)
    return run, token


def link_notebook(session: Any, run_id: str, notebook_id: str) -> None:
    """The notebook a run's token was written into (in the transaction that records the notebook)."""
    run = repo.get_colab_run(session, run_id)
    if run is not None:
        run.notebook_id = notebook_id
        session.flush()


def refused() -> UnauthorizedError:
    # One answer for an unknown run and a wrong token: a token tells nothing about other runs.
    return UnauthorizedError("This report token does not belong to this run. Use the REPORT_URL and REPORT_TOKEN "
                             "the notebook was generated with.", code="invalid_report_token")


async def authorised_run(state: AppState, run_id: str, token: str | None) -> ColabRun:
    async with state.session() as session:
        run = await session.run_sync(repo.get_colab_run, run_id) if len(run_id) == 32 else None
    if run is None or not token or not secrets.compare_digest(run.token_sha256, token_hash(token)):
        raise refused()
    return run


async def report(state: AppState, run_id: str, token: str | None, record: dict[str, Any]) -> tuple[Task, bool]:
    """Record one progress point; (the run's task, whether its owner asked it to stop)."""
    run = await authorised_run(state, run_id, token)
    task = await _task_of(state, run)
    lease = utc_now() + timedelta(minutes=state.settings.colab_report_silence_minutes)
    values = {key: value for key, value in record.items() if value is not None}
    last = values.get("max_steps") is not None and values.get("step", 0) >= values["max_steps"] and "loss" in values
    async with state.session() as session:
        await session.run_sync(lambda s: _write(s, task, values, lease, last, run.id))
        current = await session.run_sync(task_repo.get_task, task.id)
    assert current is not None
    return current, current.state == "CANCELLING" or current.cancel_requested_at is not None


def _write(session: Any, task: Task, values: dict[str, Any], lease: Any, last: bool, run_id: str) -> None:
    now = utc_now()
    task_repo.add_event(session, task.id, task.attempt, "metrics", {"values": values, "history": True,
                                                                     "attempt": task.attempt})
    row = task_repo.get_task(session, task.id)
    assert row is not None
    done = values.get("max_steps")
    live = task_repo.update_live(session, task.id, task.attempt, metrics={**(row.metrics or {}), **values},
                                 lease_until=lease, progress_done=float(values.get("step", 0)),
                                 progress_total=float(done) if done else None)
    if live and last:
        task_repo.finish_task(session, task.id, task.attempt, "DONE",
                              result={"steps": values["step"], "final_loss": values["loss"], "source": "colab"})
    repo.note_colab_report(session, run_id, task.id, now)


async def _task_of(state: AppState, run: ColabRun) -> Task:
    """The run's task; made (and marked running, in the notebook) at its first report."""
    if run.task_id is not None:
        async with state.session() as session:
            task = await session.run_sync(task_repo.get_task, run.task_id)
        if task is not None:
            if task.state not in ("RUNNING", "CANCELLING", "DONE"):
                raise ConflictError(f"This Colab run has ended ({task.state}); generate a new notebook to report "
                                    "another run.", code="colab_run_ended", state=task.state)
            return task
    user = User(id=run.owner_id)
    task = await engine.admit(state, KIND, user, client_key(user, None),
                              {"colab_run": run.id, "model": run.model_id, "dataset_id": run.dataset_id},
                              dataset_id=run.dataset_id, status="Training on Colab (reported by the notebook)")
    lease = utc_now() + timedelta(minutes=state.settings.colab_report_silence_minutes)
    async with state.session() as session:
        await session.run_sync(lambda s: task_repo.claim_task(s, task.id, task.attempt, WORKER, lease))
        await session.run_sync(lambda s: repo.note_colab_report(s, run.id, task.id, utc_now()))
    run.task_id = task.id
    return task


def run_colab_training(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """The kind's body, never run by a worker: the notebook trains, and the server never sends these tasks."""
    raise ConflictError("A Colab run is trained by its notebook, not by a worker.", code="colab_run_not_runnable")
