"""Every query on tasks, their parts and events. Synchronous, so that worker processes (plain threads, no event
loop) and the server (through `AsyncSession.run_sync`) share one implementation.

Every change a worker makes is a compare-and-set: the WHERE clause names the task's id, the attempt the worker
runs and the states it may change, and the caller learns from the row count whether it still owns the row. A
worker whose attempt was retried (its lease lapsed) therefore writes nothing. Functions flush, never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from backend.core.errors import RateLimitedError, UnavailableError
from backend.db.models import ACTIVE_TASK_STATES, FINAL_TASK_STATES, Task, TaskEvent, TaskPart, Worker
from backend.db.types import utc_now

LIVE = ("RUNNING", "CANCELLING")
JOIN_PART = -1  # the part that merges what the others produced

# Any constant works: it names the one lock that serialises admissions on PostgreSQL.
_ADMISSION_LOCK = 0x534C4D47


def new_task_id() -> str:
    # 128 random bits: an anonymous task is reachable by whoever holds its id, so it must be unguessable.
    return secrets.token_hex(16)


def add_event(session: Session, task_id: str, attempt: int, kind: str, data: dict[str, Any]) -> None:
    session.add(TaskEvent(task_id=task_id, attempt=attempt, kind=kind, data=data, created_at=utc_now()))


def _state_event(session: Session, task_id: str, attempt: int, state: str, **data: Any) -> None:
    add_event(session, task_id, attempt, "state", {"state": state, "attempt": attempt, **data})


# --- admission and hand-over -------------------------------------------------------------------------------


def admit_task(session: Session, task: Task, *, kinds: Sequence[str], per_client: int, in_total: int,
               what: str) -> None:
    """Insert a QUEUED task if capacity allows, counting it against its client and the total at once.

    The insert and the counts happen in one transaction that holds a write lock (SQLite: the insert takes the
    database's write lock; PostgreSQL: an advisory lock), so two admissions can never both see room for one.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADMISSION_LOCK})
    session.add(task)
    session.add(TaskEvent(task_id=task.id, attempt=task.attempt, kind="state",
                          data={"state": task.state, "attempt": task.attempt}, created_at=utc_now()))
    session.flush()
    active = select(func.count()).select_from(Task).where(Task.kind.in_(list(kinds)),
                                                          Task.state.in_(ACTIVE_TASK_STATES))
    mine = int(session.scalar(active.where(Task.client == task.client)) or 0)
    if mine > per_client:
        raise RateLimitedError(f"You already have {mine - 1} {what} running or waiting (the limit is {per_client}); "
                               "wait for one to finish.", retry_after=5)
    total = int(session.scalar(active) or 0)
    if total > in_total:
        raise UnavailableError(f"The server has as many {what} running or waiting as it can queue ({in_total}); "
                               "try again in a minute.", code=f"{task.kind}_queue_full", retry_after=30)


def mark_enqueued(session: Session, task_id: str, attempt: int) -> None:
    """The queue has the task's message: nobody needs to re-send it (the lease only guarded the hand-over)."""
    session.execute(update(Task).where(Task.id == task_id, Task.attempt == attempt, Task.state == "QUEUED")
                    .values(enqueued_at=utc_now(), lease_until=None))


def prepare_queued(session: Session, task_id: str, *, payload: dict[str, Any], dataset_id: str | None,
                   status: str) -> None:
    """An admitted task's input has arrived: its payload is complete (it no longer awaits input)."""
    task = session.get(Task, task_id, populate_existing=True)
    if task is None or task.state != "QUEUED":
        raise UnavailableError("The task reserved for this request is gone (it was stopped); try again.",
                               code="task_gone")
    task.payload = payload
    task.dataset_id = dataset_id
    task.detailed_status = [*task.detailed_status, status]
    task.updated_at = utc_now()
    add_event(session, task_id, task.attempt, "status", {"step": status, "detailed_status": task.detailed_status})
    session.flush()


def extend_lease(session: Session, task_id: str, attempt: int, until: datetime) -> None:
    session.execute(update(Task).where(Task.id == task_id, Task.attempt == attempt, Task.state == "QUEUED")
                    .values(lease_until=until))


def delete_task(session: Session, task_id: str) -> None:
    session.execute(delete(Task).where(Task.id == task_id))


# --- reading -------------------------------------------------------------------------------------------------


def get_task(session: Session, task_id: str) -> Task | None:
    return session.get(Task, task_id, populate_existing=True)


def list_tasks(session: Session, owner_id: str | None, *, kind: str | None, state: str | None, limit: int,
               offset: int) -> tuple[list[Task], int]:
    """One page of tasks, newest first: the owner's, or (owner None: the operator's CLI) everyone's."""
    query = select(Task) if owner_id is None else select(Task).where(Task.owner_id == owner_id)
    if kind:
        query = query.where(Task.kind == kind)
    if state:
        query = query.where(Task.state == state)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def events_after(session: Session, task_id: str, after_id: int, limit: int = 500) -> list[TaskEvent]:
    rows = session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id, TaskEvent.id > after_id)
                           .order_by(TaskEvent.id).limit(limit))
    return list(rows)


def metrics_history(session: Session, task_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(TaskEvent.data).where(TaskEvent.task_id == task_id, TaskEvent.kind == "metrics")
                           .order_by(TaskEvent.id))
    return [dict(row.get("values", {}), attempt=row.get("attempt")) for row in rows if row.get("history")]


def part_summaries(session: Session, task_id: str, attempt: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(TaskPart.summary).where(
        TaskPart.task_id == task_id, TaskPart.attempt == attempt, TaskPart.part >= 0, TaskPart.state == "DONE",
        TaskPart.summary.is_not(None)).order_by(TaskPart.part))
    return [row for row in rows if row is not None]


# --- a worker runs a task ---------------------------------------------------------------------------------


def claim_task(session: Session, task_id: str, attempt: int, worker: str, lease_until: datetime) -> bool:
    """QUEUED → RUNNING for this attempt; False when the message is stale (cancelled, retried, running)."""
    now = utc_now()
    claimed = _rowcount(session.execute(
        update(Task).where(Task.id == task_id, Task.attempt == attempt, Task.state == "QUEUED")
        .values(state="RUNNING", worker=worker, lease_until=lease_until, updated_at=now,
                started_at=func.coalesce(Task.started_at, now), enqueued_at=func.coalesce(Task.enqueued_at, now))))
    if claimed:
        _state_event(session, task_id, attempt, "RUNNING", worker=worker)
    return bool(claimed)


def control(session: Session, task_id: str, attempt: int, lease_until: datetime | None
            ) -> tuple[str, datetime | None] | None:
    """Renew the lease (when given) and read the state and stop request; None once the attempt is not ours."""
    values: dict[str, Any] = {"lease_until": lease_until} if lease_until is not None else {}
    where = (Task.id == task_id, Task.attempt == attempt, Task.state.in_(LIVE))
    if values:
        row = session.execute(update(Task).where(*where).values(**values)
                              .returning(Task.state, Task.cancel_requested_at)).first()
    else:
        row = session.execute(select(Task.state, Task.cancel_requested_at).where(*where)).first()
    return None if row is None else (row[0], row[1])


def update_live(session: Session, task_id: str, attempt: int, **values: Any) -> bool:
    """Set columns of a running attempt (progress, detailed_status, metrics...); False if it is not ours."""
    values["updated_at"] = utc_now()
    return bool(_rowcount(session.execute(
        update(Task).where(Task.id == task_id, Task.attempt == attempt, Task.state.in_(LIVE)).values(**values))))


def finish_task(session: Session, task_id: str, attempt: int, state: str, *, result: dict[str, Any] | None = None,
                error_code: str | None = None, error_message: str | None = None,
                from_states: Sequence[str] = LIVE) -> bool:
    """End an attempt DONE, ERROR or CANCELLED; wipes the secrets it carried. False if it is not ours."""
    assert state in FINAL_TASK_STATES
    now = utc_now()
    ended = _rowcount(session.execute(
        update(Task).where(Task.id == task_id, Task.attempt == attempt, Task.state.in_(list(from_states)))
        .values(state=state, result=result, error_code=error_code, error_message=error_message, secrets=None,
                lease_until=None, finished_at=now, updated_at=now)))
    if ended:
        data: dict[str, Any] = {}
        if error_code:
            data["error"] = {"code": error_code, "message": error_message}
        _state_event(session, task_id, attempt, state, **data)
    return bool(ended)


def retry_task(session: Session, task_id: str, attempt: int, reason: str, lease_until: datetime) -> bool:
    """A lost attempt starts over as the next attempt (QUEUED again); the old attempt can no longer write."""
    task = session.get(Task, task_id, populate_existing=True)
    if task is None or task.attempt != attempt or task.state not in LIVE:
        return False
    steps = [*task.detailed_status, reason]
    moved = _rowcount(session.execute(
        update(Task).where(Task.id == task_id, Task.attempt == attempt, Task.state.in_(LIVE))
        .values(attempt=attempt + 1, state="QUEUED", worker=None, lease_until=lease_until, enqueued_at=None,
                progress_done=0.0, progress_total=None, detailed_status=steps, updated_at=utc_now())))
    if moved:
        _state_event(session, task_id, attempt + 1, "QUEUED", reason=reason)
    return bool(moved)


def request_cancel(session: Session, task_id: str) -> str:
    """Ask a task to stop: a queued one is CANCELLED at once, a running one becomes CANCELLING.

    Returns the state it is in afterwards (a finished task is left as it is: the caller says 409).
    """
    task = session.get(Task, task_id, populate_existing=True)
    if task is None or task.state in FINAL_TASK_STATES:
        return task.state if task is not None else "MISSING"
    if task.state == "QUEUED" and finish_task(session, task_id, task.attempt, "CANCELLED",
                                              result={"stopped": "before it started"}, from_states=("QUEUED",)):
        return "CANCELLED"
    now = utc_now()
    if _rowcount(session.execute(update(Task).where(Task.id == task_id, Task.state == "RUNNING")
                                 .values(state="CANCELLING", cancel_requested_at=now, updated_at=now))):
        _state_event(session, task_id, task.attempt, "CANCELLING")
        return "CANCELLING"
    current = session.get(Task, task_id, populate_existing=True)
    return current.state if current is not None else "MISSING"


# --- parts: a task fanned out over workers --------------------------------------------------------------------


def add_parts(session: Session, task_id: str, attempt: int, parts: Sequence[int], lease_until: datetime) -> None:
    for part in parts:
        session.add(TaskPart(task_id=task_id, attempt=attempt, part=part, state="QUEUED", lease_until=lease_until))
    session.flush()


def mark_parts_enqueued(session: Session, task_id: str, attempt: int, parts: Sequence[int]) -> None:
    session.execute(update(TaskPart).where(TaskPart.task_id == task_id, TaskPart.attempt == attempt,
                                           TaskPart.part.in_(list(parts)), TaskPart.state == "QUEUED")
                    .values(lease_until=None))


def claim_part(session: Session, task_id: str, attempt: int, part: int, worker: str, lease_until: datetime) -> bool:
    return bool(_rowcount(session.execute(
        update(TaskPart).where(TaskPart.task_id == task_id, TaskPart.attempt == attempt, TaskPart.part == part,
                               TaskPart.state == "QUEUED")
        .values(state="RUNNING", worker=worker, lease_until=lease_until))))


def renew_part(session: Session, task_id: str, attempt: int, part: int, lease_until: datetime) -> bool:
    return bool(_rowcount(session.execute(
        update(TaskPart).where(TaskPart.task_id == task_id, TaskPart.attempt == attempt, TaskPart.part == part,
                               TaskPart.state == "RUNNING").values(lease_until=lease_until))))


def finish_part(session: Session, task_id: str, attempt: int, part: int, state: str,
                summary: dict[str, Any] | None) -> bool:
    return bool(_rowcount(session.execute(
        update(TaskPart).where(TaskPart.task_id == task_id, TaskPart.attempt == attempt, TaskPart.part == part,
                               TaskPart.state == "RUNNING")
        .values(state=state, summary=summary, lease_until=None, finished_at=utc_now()))))


def count_done(session: Session, task_id: str, attempt: int) -> tuple[int, float | None] | None:
    """Add one finished part to the task's progress; (parts done, parts in all), or None if not ours."""
    row = session.execute(
        update(Task).where(Task.id == task_id, Task.attempt == attempt, Task.state.in_(LIVE))
        .values(progress_done=Task.progress_done + 1, updated_at=utc_now())
        .returning(Task.progress_done, Task.progress_total)).first()
    return None if row is None else (int(row[0]), row[1])


def running_parts(session: Session, task_id: str, attempt: int) -> int:
    return int(session.scalar(select(func.count()).select_from(TaskPart).where(
        TaskPart.task_id == task_id, TaskPart.attempt == attempt, TaskPart.state == "RUNNING")) or 0)


def has_part(session: Session, task_id: str, attempt: int, part: int) -> bool:
    return session.get(TaskPart, (task_id, attempt, part)) is not None


# --- recovery ---------------------------------------------------------------------------------------------------


def lapsed(session: Session, now: datetime) -> list[Task]:
    """Tasks whose driver stopped renewing its lease: a dead worker (RUNNING, CANCELLING), or a hand-over to the
    queue that never completed (QUEUED and not yet enqueued)."""
    rows = session.scalars(select(Task).where(Task.state.in_(ACTIVE_TASK_STATES), Task.lease_until.is_not(None),
                                              Task.lease_until < now).order_by(Task.created_at))
    return list(rows)


def lapsed_parts(session: Session, now: datetime) -> list[TaskPart]:
    rows = session.scalars(select(TaskPart).join(Task, and_(Task.id == TaskPart.task_id,
                                                           Task.attempt == TaskPart.attempt))
                           .where(TaskPart.lease_until.is_not(None), TaskPart.lease_until < now,
                                  TaskPart.state.in_(("QUEUED", "RUNNING")), Task.state.in_(LIVE)))
    return list(rows)


def stalled_cancels(session: Session, before: datetime) -> list[Task]:
    """CANCELLING tasks asked to stop before `before` that nobody is driving any more (no live lease)."""
    live_part = select(TaskPart.task_id).where(TaskPart.task_id == Task.id, TaskPart.attempt == Task.attempt,
                                               TaskPart.state == "RUNNING").exists()
    rows = session.scalars(select(Task).where(
        Task.state == "CANCELLING", Task.cancel_requested_at < before,
        or_(Task.lease_until.is_(None), Task.lease_until < utc_now()), ~live_part))
    return list(rows)


def expired_tasks(session: Session, now: datetime) -> list[Task]:
    rows = session.scalars(select(Task).where(Task.expires_at.is_not(None), Task.expires_at <= now,
                                              Task.state.in_(FINAL_TASK_STATES)))
    return list(rows)


# --- workers ---------------------------------------------------------------------------------------------------


def see_worker(session: Session, worker_id: str, queues: Sequence[str]) -> None:
    """A worker says it is alive and which queues it takes (every few seconds)."""
    now = utc_now()
    row = session.get(Worker, worker_id)
    if row is None:
        session.add(Worker(id=worker_id, queues=list(queues), started_at=now, seen_at=now))
    else:
        row.queues, row.seen_at = list(queues), now
    session.flush()


def forget_worker(session: Session, worker_id: str) -> None:
    session.execute(delete(Worker).where(Worker.id == worker_id))


def live_workers(session: Session, since: datetime) -> list[Worker]:
    """Workers seen since `since`; older rows are of workers that died without saying goodbye (removed)."""
    session.execute(delete(Worker).where(Worker.seen_at < since))
    return list(session.scalars(select(Worker).order_by(Worker.started_at)))


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
