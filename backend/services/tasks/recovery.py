"""Recovery: re-drive every row whose driver stopped renewing its lease. Nothing is lost or RUNNING forever.

Every `slmgen worker` sweeps every few seconds; sweeps on several machines race harmlessly, because each action is
a compare-and-set and a message sent twice is dropped by its claim.

- QUEUED, never handed to the queue (the server died between its commit and the send): send it now; or, if it was
  still waiting for its input (an upload cut off by a crash), end it ERROR.
- RUNNING or CANCELLING whose worker is gone (killed, out of memory, machine lost): a kind that is safe to rerun
  starts its next attempt, once; any other ends ERROR saying so. A task being stopped simply ends CANCELLED.
- A part of a fanned-out task: lost while queued, it is sent again; lost while running, the task is lost.
- CANCELLING with nobody left to finish the stop: CANCELLED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from backend.db import tasks as repo
from backend.db.models import Task
from backend.db.types import utc_now
from backend.services.tasks import queue
from backend.services.tasks.runner import database, lease_end, on_end, resend
from backend.settings import Settings

log = logging.getLogger("slmgen.tasks")

LOST = ("worker_lost", "The worker running this task stopped unexpectedly (killed, out of memory, or its machine "
        "went away). {what}")
INTERRUPTED_INPUT = ("input_interrupted", "The task's input never arrived completely (the upload was cut off when "
                     "the server stopped). Upload the file again.")


@dataclass
class Swept:
    resent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.resent + self.retried + self.failed + self.cancelled


def sweep(settings: Settings) -> Swept:
    db = database(settings)
    now = utc_now()
    swept = Swept()
    with db.begin() as session:
        tasks = repo.lapsed(session, now)
        parts = repo.lapsed_parts(session, now)
        stalled = repo.stalled_cancels(session, now - timedelta(seconds=settings.task_cancel_grace_seconds * 2))
    for task in tasks:
        if task.state == "QUEUED":
            _resend_or_fail(settings, db, task, swept)
        else:
            _lost(settings, db, task, swept)
    for part in parts:
        with db.begin() as session:
            owner = repo.get_task(session, part.task_id)
        if owner is None or owner.attempt != part.attempt:
            continue
        if part.state == "QUEUED":
            queue.send(settings, owner.queue, owner.id, owner.attempt, part.part,
                       queue.message_priority(part.part))
            with db.begin() as session:
                repo.mark_parts_enqueued(session, owner.id, owner.attempt, [part.part])
            swept.resent += 1
        else:
            _lost(settings, db, owner, swept)
    for task in stalled:
        with db.begin() as session:
            if repo.finish_task(session, task.id, task.attempt, "CANCELLED",
                                result={"stopped": "nobody was left running it"}):
                on_end(session, task.id)
                swept.cancelled += 1
    if swept.total:
        log.info("recovery: %d re-sent, %d retried, %d failed, %d cancelled", swept.resent, swept.retried,
                 swept.failed, swept.cancelled)
    return swept


def _resend_or_fail(settings: Settings, db: sessionmaker[Session], task: Task, swept: Swept) -> None:
    if task.payload.get("awaiting_input"):
        with db.begin() as session:
            if repo.finish_task(session, task.id, task.attempt, "ERROR", error_code=INTERRUPTED_INPUT[0],
                                error_message=INTERRUPTED_INPUT[1], from_states=("QUEUED",)):
                on_end(session, task.id)
                swept.failed += 1
        return
    resend(settings, db, task.queue, task.id, task.attempt)
    swept.resent += 1


def _lost(settings: Settings, db: sessionmaker[Session], task: Task, swept: Swept) -> None:
    with db.begin() as session:
        current = repo.get_task(session, task.id)
        if current is None or current.attempt != task.attempt or current.state not in repo.LIVE:
            return  # someone else recovered it first
        if current.state == "CANCELLING":
            if repo.finish_task(session, task.id, task.attempt, "CANCELLED",
                                result={"stopped": "its worker stopped while it was being cancelled"}):
                on_end(session, task.id)
                swept.cancelled += 1
            return
        if current.attempt < current.max_attempts:
            reason = (f"The worker running attempt {current.attempt} stopped unexpectedly; starting attempt "
                      f"{current.attempt + 1} of {current.max_attempts}.")
            if repo.retry_task(session, task.id, task.attempt, reason, lease_end(settings)):
                swept.retried += 1
                retried = True
            else:
                return
        else:
            retried = False
            what = ("It was retried once already." if current.max_attempts > 1 else
                    "This kind of task is not restarted automatically; start it again.")
            if repo.finish_task(session, task.id, task.attempt, "ERROR", error_code=LOST[0],
                                error_message=LOST[1].format(what=what)):
                on_end(session, task.id)
                swept.failed += 1
    if retried:
        resend(settings, db, task.queue, task.id, task.attempt + 1)
