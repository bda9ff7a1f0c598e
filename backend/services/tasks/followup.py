"""Follow-up tasks: work a finishing task starts (a generated, imported or fixed dataset gets analysed next).

`add_followup` runs inside the finishing transaction (a kind's `on_done`): the new task is inserted there, so it
exists exactly when the finished task's result does. It is handed to the queue right after the commit; its lease
is lapsed from the start, so if the worker dies before sending it, the next recovery sweep does. It inherits its
parent's owner, client and expiry, and takes no capacity check: it continues work that was already admitted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.db import tasks as repo
from backend.db.models import Task
from backend.db.types import utc_now
from backend.services.tasks.kinds import get_kind

SESSION_KEY = "slmgen_followups"


def add_followup(session: Session, parent: Task, kind: str, payload: dict[str, Any], *,
                 dataset_id: str | None = None, status: str = "Queued") -> Task:
    spec = get_kind(kind)
    now = utc_now()
    task = Task(id=repo.new_task_id(), kind=kind, queue=spec.queue_for(payload), owner_id=parent.owner_id,
                client=parent.client, state="QUEUED", attempt=1, max_attempts=spec.max_attempts, priority=0,
                payload=payload, dataset_id=dataset_id, progress_done=0.0,
                detailed_status=[f"Started by task {parent.id} ({parent.kind})", status], metrics={}, usage={},
                artifacts={}, lease_until=now, created_at=now, updated_at=now, expires_at=parent.expires_at)
    session.add(task)
    repo.add_event(session, task.id, 1, "state", {"state": "QUEUED", "attempt": 1, "parent": parent.id})
    session.flush()
    session.info.setdefault(SESSION_KEY, []).append((task.id, task.queue))
    return task


def take_followups(session: Session) -> list[tuple[str, str]]:
    """The follow-ups added in this session (task id, queue), to send once it has committed."""
    found: list[tuple[str, str]] = session.info.pop(SESSION_KEY, [])
    return found
