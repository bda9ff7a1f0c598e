"""Runs one queue message in a worker process: a task's body, one of its parts, or its join.

    claim (QUEUED → RUNNING on (id, attempt))  →  body(ctx, payload)  →  DONE | ERROR | CANCELLED
                                                   └─ Parts(n) → n parts on any workers → join → DONE

A message whose claim fails is stale (cancelled before it started, an attempt that was retried, a duplicate)
and is dropped. How a body ends decides the state: its return value is DONE (through the kind's `on_done`, in the
same transaction), TaskCancelled is CANCELLED, a CoreError is ERROR with its code and sentence, anything else is
ERROR `internal_error` (logged with its traceback; the person sees a sentence, never the trace).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.core.errors import CoreError
from backend.db import tasks as repo
from backend.db.engine import create_sync_engine, create_sync_sessionmaker
from backend.db.models import Task
from backend.db.types import utc_now
from backend.services.tasks import queue
from backend.services.tasks.context import TaskCancelled
from backend.services.tasks.followup import take_followups
from backend.services.tasks.kinds import Parts, TaskKind, get_kind, resolve, resolve_for
from backend.services.tasks.worker_context import Lease, TaskLost, WorkerContext
from backend.settings import Settings

log = logging.getLogger("slmgen.tasks")

INTERNAL_ERROR = ("internal_error", "The task failed because of an internal error; it has been logged. "
                  "Start it again, and report it if it keeps failing.")
STOPPED = ("worker_stopped", "The worker running this task was stopped before it finished (a shutdown or a "
           "restart). Start the task again.")

# Set by a worker process that owns its whole process (a pool worker), so a task that ignores its stop may be
# killed; never in a server or a CLI process.
may_kill_process = False

_sessionmakers: dict[tuple[int, str], sessionmaker[Session]] = {}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def database(settings: Settings) -> sessionmaker[Session]:
    """This process's blocking session factory (one engine per process: connections never cross a fork)."""
    key = (os.getpid(), settings.resolved_database_url)
    if key not in _sessionmakers:
        _sessionmakers[key] = create_sync_sessionmaker(create_sync_engine(settings.resolved_database_url))
    return _sessionmakers[key]


def forget_databases() -> None:
    """In a forked child: drop the parent's connections without closing them (they are the parent's)."""
    for maker in _sessionmakers.values():
        bind = maker.kw.get("bind")
        if bind is not None:
            bind.dispose(close=False)
    _sessionmakers.clear()


def lease_end(settings: Settings) -> Any:
    return utc_now() + timedelta(seconds=settings.task_lease_seconds)


def execute_message(settings: Settings, task_id: str, attempt: int, part: int | None) -> None:
    db = database(settings)
    if part is None:
        _run_body(settings, db, task_id, attempt)
    else:
        _run_part(settings, db, task_id, attempt, part)


# --- a task's body -------------------------------------------------------------------------------------------


def _run_body(settings: Settings, db: sessionmaker[Session], task_id: str, attempt: int) -> None:
    with db.begin() as session:
        if not repo.claim_task(session, task_id, attempt, worker_name(), lease_end(settings)):
            return
        task = _load(session, task_id)
    kind = get_kind(task.kind)
    ctx = WorkerContext(settings, db, task)
    body = resolve_for(kind, kind.body, settings)
    outcome = _guarded(settings, db, ctx, None, lambda: body(ctx, dict(task.payload)))
    if outcome is None:
        return
    if isinstance(outcome, Parts):
        _fan_out(settings, db, task.queue, ctx, outcome)
    else:
        _finish_done(settings, db, kind, task_id, attempt, outcome)


def _fan_out(settings: Settings, db: sessionmaker[Session], queue_name: str, ctx: WorkerContext,
             parts: Parts) -> None:
    """Record the parts, queue all but the first for any worker, and run the first one here at once."""
    steps = [*ctx.steps, *([parts.status] if parts.status else [])]
    with db.begin() as session:
        if not repo.update_live(session, ctx.task_id, ctx.attempt, progress_total=float(parts.count),
                                progress_done=0.0, lease_until=None, detailed_status=steps):
            return
        repo.add_parts(session, ctx.task_id, ctx.attempt, range(parts.count), lease_end(settings))
        if parts.status:
            repo.add_event(session, ctx.task_id, ctx.attempt, "status", {"step": parts.status,
                                                                           "detailed_status": steps})
    others = list(range(1, parts.count))
    for number in others:
        queue.send(settings, queue_name, ctx.task_id, ctx.attempt, number, queue.message_priority(number))
    if others:
        with db.begin() as session:
            repo.mark_parts_enqueued(session, ctx.task_id, ctx.attempt, others)
    if parts.count:
        _run_part(settings, db, ctx.task_id, ctx.attempt, 0)  # no round trip through the queue for part 0


# --- parts and the join ------------------------------------------------------------------------------------


def _run_part(settings: Settings, db: sessionmaker[Session], task_id: str, attempt: int, part: int) -> None:
    with db.begin() as session:
        seen = repo.control(session, task_id, attempt, None)
        if seen is None:
            return  # the task ended or moved on to another attempt: nothing to do
        if seen[0] == "CANCELLING" and repo.claim_part(session, task_id, attempt, part, worker_name(),
                                                       lease_end(settings)):
            repo.finish_part(session, task_id, attempt, part, "CANCELLED", None)
            _finish_cancelled_if_idle(session, get_kind(_load(session, task_id).kind), task_id, attempt)
            return
        if not repo.claim_part(session, task_id, attempt, part, worker_name(), lease_end(settings)):
            return
        task = _load(session, task_id)
    kind = get_kind(task.kind)
    ctx = WorkerContext(settings, db, task, part)
    payload = dict(task.payload)
    if part == repo.JOIN_PART:
        assert kind.join is not None
        join = resolve_for(kind, kind.join, settings)
        outcome = _guarded(settings, db, ctx, part, lambda: join(ctx, payload))
        if outcome is not None:
            _finish_done(settings, db, kind, task_id, attempt, outcome, join_part=True)
        return
    assert kind.part is not None
    body = resolve_for(kind, kind.part, settings)
    summary = _guarded(settings, db, ctx, part, lambda: body(ctx, payload, part))
    if summary is not None:
        _part_done(settings, db, kind, task_id, attempt, part, summary)


def _part_done(settings: Settings, db: sessionmaker[Session], kind: TaskKind, task_id: str, attempt: int,
               part: int, summary: dict[str, Any]) -> None:
    join = False
    with db.begin() as session:
        if not repo.finish_part(session, task_id, attempt, part, "DONE", summary):
            return
        counted = repo.count_done(session, task_id, attempt)
        if counted is None:
            return
        done, total = counted
        summaries = repo.part_summaries(session, task_id, attempt)
        if kind.summarize:
            repo.add_event(session, task_id, attempt, "partial", resolve(kind.summarize)(summaries))
        repo.add_event(session, task_id, attempt, "progress", {"done": done, "total": total,
                                                                "fraction": round(done / total, 4) if total else None})
        state = repo.control(session, task_id, attempt, None)
        if state is not None and state[0] == "CANCELLING":
            _finish_cancelled_if_idle(session, kind, task_id, attempt)
        elif total is not None and done >= total and not repo.has_part(session, task_id, attempt, repo.JOIN_PART):
            repo.add_parts(session, task_id, attempt, [repo.JOIN_PART], lease_end(settings))
            join = True
    if join:  # the worker that finished the last part joins them, at once
        _run_part(settings, db, task_id, attempt, repo.JOIN_PART)


def _finish_cancelled_if_idle(session: Session, kind: TaskKind, task_id: str, attempt: int) -> None:
    """A fanned-out task being stopped ends CANCELLED once none of its parts runs any more."""
    if repo.running_parts(session, task_id, attempt) == 0:
        summaries = repo.part_summaries(session, task_id, attempt)
        result: dict[str, Any] = {"parts_done": len(summaries)}
        if kind.summarize:
            result["partial"] = resolve(kind.summarize)(summaries)
        if repo.finish_task(session, task_id, attempt, "CANCELLED", result=result):
            _on_end(session, kind, task_id)


# --- how a run ends ------------------------------------------------------------------------------------------


def _guarded(settings: Settings, db: sessionmaker[Session], ctx: WorkerContext, part: int | None,
             run: Callable[[], Any]) -> Any:
    """Run `run` under a lease; record how it ended unless it returned normally (then return its value)."""

    def force_stop() -> None:
        with db.begin() as session:
            _end_cancelled(session, ctx, part, {"stopped": "by force: no checkpoint within the grace period"})

    lease = Lease(settings, db, ctx, part, force_stop, may_kill_process)
    lease.start()
    try:
        value = run()
        ctx.flush()
        return value
    except TaskLost:
        return None
    except TaskCancelled:
        ctx.flush()
        with db.begin() as session:
            _end_cancelled(session, ctx, part, {"stopped": "at a checkpoint", "progress": ctx.progress_fields})
        return None
    except CoreError as exc:
        _end_error(db, ctx, part, exc.code, exc.detail)
        return None
    except KeyboardInterrupt:
        # The worker is shutting down: a task that is safe to rerun starts over as its next attempt at once.
        _interrupted(settings, db, ctx)
        raise
    except Exception:
        log.exception("task %s (attempt %d, part %s) failed", ctx.task_id, ctx.attempt, part)
        _end_error(db, ctx, part, *INTERNAL_ERROR)
        return None
    finally:
        lease.stop()


def _end_cancelled(session: Session, ctx: WorkerContext, part: int | None, result: dict[str, Any]) -> None:
    task = _load(session, ctx.task_id)
    kind = get_kind(task.kind)
    if part is None:
        if repo.finish_task(session, ctx.task_id, ctx.attempt, "CANCELLED", result=result):
            _on_end(session, kind, ctx.task_id)
        return
    repo.finish_part(session, ctx.task_id, ctx.attempt, part, "CANCELLED", None)
    _finish_cancelled_if_idle(session, kind, ctx.task_id, ctx.attempt)


def _end_error(db: sessionmaker[Session], ctx: WorkerContext, part: int | None, code: str, message: str) -> None:
    with db.begin() as session:
        if part is not None:
            repo.finish_part(session, ctx.task_id, ctx.attempt, part, "ERROR", None)
        if repo.finish_task(session, ctx.task_id, ctx.attempt, "ERROR", error_code=code, error_message=message):
            _on_end(session, get_kind(_load(session, ctx.task_id).kind), ctx.task_id)


def _interrupted(settings: Settings, db: sessionmaker[Session], ctx: WorkerContext) -> None:
    with db.begin() as session:
        task = _load(session, ctx.task_id)
        kind = get_kind(task.kind)
        if task.attempt < task.max_attempts and repo.retry_task(
                session, ctx.task_id, ctx.attempt, "The worker was stopped; starting again.", lease_end(settings)):
            retried = True
        else:
            retried = False
            if repo.finish_task(session, ctx.task_id, ctx.attempt, "ERROR", error_code=STOPPED[0],
                                error_message=STOPPED[1]):
                _on_end(session, kind, ctx.task_id)
    if retried:
        resend(settings, db, task.queue, ctx.task_id, ctx.attempt + 1)


def resend(settings: Settings, db: sessionmaker[Session], queue_name: str, task_id: str, attempt: int) -> None:
    """Hand a QUEUED attempt to the queue again (a retry, or a hand-over that never completed)."""
    queue.send(settings, queue_name, task_id, attempt, None, queue.message_priority(None))
    with db.begin() as session:
        repo.mark_enqueued(session, task_id, attempt)


def _finish_done(settings: Settings, db: sessionmaker[Session], kind: TaskKind, task_id: str, attempt: int,
                 output: Any, join_part: bool = False) -> None:
    try:
        with db.begin() as session:
            task = _load(session, task_id)
            result = resolve(kind.on_done)(session, task, output) if kind.on_done else output
            if not repo.finish_task(session, task_id, attempt, "DONE", result=result):
                raise _NotOurs()
            if join_part:
                repo.finish_part(session, task_id, attempt, repo.JOIN_PART, "DONE", None)
            followups = take_followups(session)
    except _NotOurs:
        return  # rolled back: what on_done wrote belongs to an attempt that is no longer current
    except CoreError as exc:
        with db.begin() as session:
            if repo.finish_task(session, task_id, attempt, "ERROR", error_code=exc.code, error_message=exc.detail):
                _on_end(session, kind, task_id)
        return
    except Exception:
        log.exception("finishing task %s failed", task_id)
        with db.begin() as session:
            if repo.finish_task(session, task_id, attempt, "ERROR", error_code=INTERNAL_ERROR[0],
                                error_message=INTERNAL_ERROR[1]):
                _on_end(session, kind, task_id)
        return
    for followup_id, queue_name in followups:  # committed: hand them to the queue now
        try:
            resend(settings, db, queue_name, followup_id, 1)
        except Exception:  # its lease has lapsed already: the next recovery sweep sends it
            log.warning("could not send follow-up task %s yet", followup_id, exc_info=True)


class _NotOurs(Exception):
    pass


def _on_end(session: Session, kind: TaskKind, task_id: str) -> None:
    """The kind's hook for a task that ended ERROR or CANCELLED, in the transaction that ended it."""
    if kind.on_end:
        resolve(kind.on_end)(session, _load(session, task_id))


def on_end(session: Session, task_id: str) -> None:
    _on_end(session, get_kind(_load(session, task_id).kind), task_id)


def _load(session: Session, task_id: str) -> Task:
    task = repo.get_task(session, task_id)
    if task is None:
        raise TaskLost()
    return task
