"""The server's side of the task engine: admit, hand over to the queue, read, stop.

    task = await admit(state, "generation", user, client, payload, secrets={"openai_api_key": key})
    await hand_over(state, task)          # or both at once: await submit(...)

`admit` reserves capacity by inserting the QUEUED row (counted against the client and the total in the same
transaction), so a long upload that was admitted cannot be refused at its end, and two requests can never both
take the last place. Until `hand_over` has put the message on the queue the row holds a lease; a server that
dies in between leaves a row that recovery sends on (or, if it still awaited its input, ends ERROR).
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from backend.auth import User
from backend.core.errors import ConflictError, NotFoundError, UnavailableError
from backend.db import tasks as repo
from backend.db.models import FINAL_TASK_STATES, Task, TaskEvent
from backend.db.types import utc_now
from backend.services import crypto
from backend.services.state import AppState
from backend.services.tasks import queue
from backend.services.tasks.kinds import get_kind, resolve
from backend.services.tasks.worker_context import progress_view


def capacity(state: AppState, kind: str) -> tuple[int, int]:
    """(per client, in total) tasks of this kind that may be queued or running at once."""
    settings = state.settings
    if kind == "analysis":
        return settings.max_analyses_per_client, settings.max_queued_analyses
    return settings.max_tasks_per_client, settings.max_queued_tasks


async def admit(state: AppState, kind: str, user: User | None, client: str, payload: dict[str, Any], *,
                secrets: dict[str, str] | None = None, dataset_id: str | None = None, status: str = "Queued",
                task_id: str | None = None) -> Task:
    """Reserve a place for a new task (429 / 503 when there is none) and record it QUEUED."""
    spec = get_kind(kind)
    settings = state.settings
    now = utc_now()
    sealed = crypto.encrypt(crypto.server_key(settings), json.dumps(secrets)) if secrets else None
    task = Task(id=task_id or repo.new_task_id(), kind=kind, queue=spec.queue_for(payload),
                owner_id=user.id if user else None, client=client,
                state="QUEUED", attempt=1, max_attempts=spec.max_attempts, priority=0, payload=payload,
                secrets=sealed, dataset_id=dataset_id, progress_done=0.0, detailed_status=[status], metrics={},
                usage={}, artifacts={}, lease_until=now + timedelta(seconds=settings.task_lease_seconds),
                created_at=now, updated_at=now,
                expires_at=None if user else now + timedelta(hours=settings.anonymous_ttl_hours))
    per_client, in_total = capacity(state, kind)
    async with state.session() as session:
        await session.run_sync(lambda s: repo.admit_task(s, task, kinds=[kind], per_client=per_client,
                                                         in_total=in_total, what=spec.what))
    return task


async def hand_over(state: AppState, task: Task) -> None:
    """Put the task's first message on its queue; from here on a worker drives it."""
    await asyncio.to_thread(queue.send, state.settings, task.queue, task.id, task.attempt, None,
                            queue.message_priority(None))
    async with state.session() as session:
        await session.run_sync(repo.mark_enqueued, task.id, task.attempt)


async def submit(state: AppState, kind: str, user: User | None, client: str, payload: dict[str, Any], *,
                 secrets: dict[str, str] | None = None, dataset_id: str | None = None,
                 status: str = "Queued") -> Task:
    task = await admit(state, kind, user, client, payload, secrets=secrets, dataset_id=dataset_id, status=status)
    await hand_over(state, task)
    return task


async def release(state: AppState, task_id: str) -> None:
    """Give back an admitted task's place when its input never arrived (a failed upload): the row goes."""
    async with state.session() as session:
        await session.run_sync(repo.delete_task, task_id)


async def keep_reserved(state: AppState, task: Task, stop: asyncio.Event) -> None:
    """Renew an admitted task's lease until `stop` is set (while its input is still arriving)."""
    every = max(0.5, state.settings.task_lease_seconds / 3)
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        except TimeoutError:
            until = utc_now() + timedelta(seconds=state.settings.task_lease_seconds)
            async with state.session() as session:
                await session.run_sync(repo.extend_lease, task.id, task.attempt, until)


async def workers_by_queue(state: AppState) -> dict[str, int]:
    """How many live workers take each queue (seen within a lease; a worker renews every few seconds)."""
    since = utc_now() - timedelta(seconds=max(state.settings.task_lease_seconds, 10.0))
    async with state.session() as session:
        workers = await session.run_sync(repo.live_workers, since)
    counts: dict[str, int] = {}
    for worker in workers:
        for name in worker.queues:
            counts[name] = counts.get(name, 0) + 1
    return counts


async def require_worker(state: AppState, queue_name: str, what: str, instead: str) -> None:
    """Refuse (503) work for a queue no live worker takes, rather than queueing it for nobody."""
    if (await workers_by_queue(state)).get(queue_name):
        return
    raise UnavailableError(f"No worker is connected that takes {what}. {instead}", code="no_worker",
                           queue=queue_name, retry_after=30)


# --- reading and stopping, scoped to the caller --------------------------------------------------------------


def is_visible(task: Task, user: User | None) -> bool:
    """A signed-in user's tasks are theirs alone; an anonymous one is reachable through its unguessable id."""
    return task.owner_id is None or (user is not None and user.id == task.owner_id)


def unknown_task() -> NotFoundError:
    return NotFoundError("No task with this id (it may have expired, or belong to someone else).",
                         code="task_not_found")


async def get_task(state: AppState, task_id: str, user: User | None) -> Task:
    if not task_id or len(task_id) > 64:
        raise unknown_task()
    async with state.session() as session:
        task = await session.run_sync(repo.get_task, task_id)
    if task is None or not is_visible(task, user):
        raise unknown_task()
    return task


async def list_tasks(state: AppState, user: User, *, kind: str | None, task_state: str | None, limit: int,
                     offset: int) -> tuple[list[Task], int]:
    async with state.session() as session:
        return await session.run_sync(lambda s: repo.list_tasks(s, user.id, kind=kind, state=task_state,
                                                                limit=limit, offset=offset))


async def cancel(state: AppState, task_id: str, user: User | None) -> Task:
    """Stop a task: a queued one at once, a running one at its next checkpoint (killed after the grace)."""
    task = await get_task(state, task_id, user)
    if task.state in FINAL_TASK_STATES:
        raise _finished(task)
    async with state.session() as session:
        outcome = await session.run_sync(repo.request_cancel, task_id)
    if outcome in FINAL_TASK_STATES and outcome != "CANCELLED":
        raise _finished(await get_task(state, task_id, user))
    return await get_task(state, task_id, user)


def _finished(task: Task) -> ConflictError:
    return ConflictError(f"This task has already ended ({task.state}); there is nothing to stop.",
                         code="task_finished", state=task.state)


async def events_after(state: AppState, task_id: str, after: int) -> tuple[list[TaskEvent], str | None]:
    """Events after `after`, and the task's state read BEFORE them (so a final state's events are included)."""
    async with state.session() as session:
        task = await session.run_sync(repo.get_task, task_id)
        events = await session.run_sync(repo.events_after, task_id, after)
    return events, None if task is None else task.state


async def partial_figures(state: AppState, task: Task) -> dict[str, Any] | None:
    """The running figures of a fanned-out task (an analysis: what the finished chunks found), or None."""
    spec = get_kind(task.kind)
    if spec.summarize is None or task.state != "RUNNING":
        return None
    async with state.session() as session:
        summaries = await session.run_sync(repo.part_summaries, task.id, task.attempt)
    if not summaries:
        return None
    figures: dict[str, Any] = resolve(spec.summarize)(summaries)
    return figures


async def metrics_history(state: AppState, task: Task) -> list[dict[str, Any]]:
    async with state.session() as session:
        return await session.run_sync(repo.metrics_history, task.id)


def task_view(task: Task) -> dict[str, Any]:
    """The one JSON shape of a task (GET /tasks/{id}, /track/{id}, events' snapshots)."""
    elapsed = ((task.finished_at or utc_now()) - task.started_at).total_seconds() if task.started_at else 0.0
    error = {"code": task.error_code, "message": task.error_message} if task.error_code else None
    return {
        "task_id": task.id,
        "kind": task.kind,
        "state": task.state,
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "progress": progress_view(task.progress_done, task.progress_total, elapsed),
        "detailed_status": list(task.detailed_status or []),
        "metrics": task.metrics or {},
        "usage": task.usage or {},
        "artifacts": task.artifacts or {},
        "result": task.result,
        "error": error,
        "dataset_id": task.dataset_id,
        "created_at": task.created_at.isoformat(),
        "started_at": task.started_at.isoformat() if task.started_at else None,
        "finished_at": task.finished_at.isoformat() if task.finished_at else None,
        "updated_at": task.updated_at.isoformat(),
    }
