"""The TaskContext a worker hands a task body, and the lease that keeps the task's row alive while it runs.

Everything the body reports becomes a compare-and-set write on (task id, attempt) plus an event; frequent reports
(progress, usage, metrics without history) are coalesced to a few writes a second. The lease thread renews the
row's (or the part's) lease, watches for a stop request, and, when the body does not reach a checkpoint within
the grace period, ends the task CANCELLED and kills its own process: the worker pool replaces it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.db import tasks as repo
from backend.db.models import Task
from backend.db.types import utc_now
from backend.services import crypto
from backend.services.tasks.context import Metric, TaskCancelled
from backend.settings import Settings

log = logging.getLogger("slmgen.tasks")

FLUSH_SECONDS = 0.25
CONTROL_SECONDS = 0.25


class TaskLost(TaskCancelled):
    """This attempt is no longer ours (its lease lapsed and it was retried, or the task was deleted)."""


def task_dir(settings: Settings, task_id: str) -> Path:
    return settings.data_dir / "tasks" / task_id


class WorkerContext:
    """A TaskContext over a task row, for a body (part None), one of its parts, or its join (part -1)."""

    def __init__(self, settings: Settings, db: sessionmaker[Session], task: Task, part: int | None = None) -> None:
        self._settings = settings
        self._db = db
        self._task_id = task.id
        self._attempt = task.attempt
        self._owner_id = task.owner_id
        self._part = part
        self._secrets_token = task.secrets
        self.cancel = threading.Event()
        self.lost = threading.Event()
        self._steps = list(task.detailed_status or [])
        self._metrics: dict[str, Any] = dict(task.metrics or {})
        self._usage: dict[str, float] = dict(task.usage or {})
        self._artifacts: dict[str, Any] = dict(task.artifacts or {})
        self._done = float(task.progress_done or 0.0)
        self._total = task.progress_total
        self._started = time.monotonic()
        self._dirty: set[str] = set()
        self._last_flush = 0.0
        self._lock = threading.Lock()

    # --- identity -----------------------------------------------------------------------------------------------
    @property
    def task_id(self) -> str:
        return self._task_id

    @property
    def attempt(self) -> int:
        return self._attempt

    @property
    def owner_id(self) -> str | None:
        return self._owner_id

    @property
    def work_dir(self) -> Path:
        path = task_dir(self._settings, self._task_id) / str(self._attempt)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, relative: str) -> Path:
        resolved = (self._settings.data_dir / relative).resolve()
        if not resolved.is_relative_to(self._settings.data_dir.resolve()):
            raise ValueError(f"a task path must stay inside the storage: {relative!r}")
        return resolved

    # --- reports --------------------------------------------------------------------------------------------
    def status(self, step: str) -> None:
        if self._part is not None and self._part >= 0:
            self._event("log", {"line": step, "part": self._part})
            return
        with self._lock:
            self._steps.append(step)
            self._dirty.add("detailed_status")
        self.flush(event=("status", {"step": step, "detailed_status": list(self._steps)}))

    def progress(self, done: float, total: float | None = None) -> None:
        if self._part is not None and self._part >= 0:
            return  # a fanned-out task's progress is its parts: the engine counts them
        with self._lock:
            self._done, self._total = float(done), total
            self._dirty.add("progress")
        self._maybe_flush()

    def log(self, line: str) -> None:
        self._event("log", {"line": line[:2000]} if self._part is None else {"line": line[:2000], "part": self._part})

    def metrics(self, values: Mapping[str, Metric], *, history: bool = False) -> None:
        with self._lock:
            self._metrics.update(values)
            self._dirty.add("metrics")
        if history:
            self._event("metrics", {"values": dict(values), "history": True, "attempt": self._attempt})
        self._maybe_flush(force=history)

    def usage(self, **counts: float) -> None:
        with self._lock:
            for key, value in counts.items():
                self._usage[key] = self._usage.get(key, 0) + value
            self._dirty.add("usage")
        self._maybe_flush()

    def artifact(self, name: str, value: Any) -> None:
        json.dumps(value)  # refuse what the row could not hold, here rather than at the flush
        with self._lock:
            self._artifacts[name] = value
            self._dirty.add("artifacts")
        self._event("artifact", {"name": name, "value": value})
        self._maybe_flush(force=True)

    def checkpoint(self) -> None:
        if self.lost.is_set():
            raise TaskLost()
        if self.cancel.is_set():
            raise TaskCancelled()

    @property
    def cancel_requested(self) -> bool:
        return self.cancel.is_set() or self.lost.is_set()

    def secret(self, name: str) -> str | None:
        if not self._secrets_token:
            return None
        values: dict[str, str] = json.loads(crypto.decrypt(crypto.server_key(self._settings), self._secrets_token))
        return values.get(name)

    @property
    def steps(self) -> list[str]:
        return list(self._steps)

    # --- writing ----------------------------------------------------------------------------------------------
    @property
    def progress_fields(self) -> dict[str, Any]:
        return progress_view(self._done, self._total, time.monotonic() - self._started)

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        with self._db.begin() as session:
            repo.add_event(session, self._task_id, self._attempt, kind, data)

    def _maybe_flush(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self, event: tuple[str, dict[str, Any]] | None = None) -> None:
        """Write what changed since the last flush (one UPDATE, and events), with `event`, in one transaction."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            values: dict[str, Any] = {}
            if "detailed_status" in dirty:
                values["detailed_status"] = list(self._steps)
            if "progress" in dirty:
                values.update(progress_done=self._done, progress_total=self._total)
            if "metrics" in dirty:
                values["metrics"] = dict(self._metrics)
            if "usage" in dirty:
                values["usage"] = dict(self._usage)
            if "artifacts" in dirty:
                values["artifacts"] = dict(self._artifacts)
            self._last_flush = time.monotonic()
        if not values and event is None:
            return
        with self._db.begin() as session:
            if event is not None:
                repo.add_event(session, self._task_id, self._attempt, *event)
            if values and not repo.update_live(session, self._task_id, self._attempt, **values):
                return
            if "progress" in dirty:
                repo.add_event(session, self._task_id, self._attempt, "progress", self.progress_fields)
            if "usage" in dirty:
                repo.add_event(session, self._task_id, self._attempt, "usage", dict(self._usage))


def progress_view(done: float, total: float | None, elapsed: float) -> dict[str, Any]:
    """done, total, fraction and a linear ETA (None until there is something to extrapolate from)."""
    fraction = min(1.0, done / total) if total else None
    eta = elapsed * (total - done) / done if total and done > 0 and done < total else None
    return {"done": done, "total": total, "fraction": None if fraction is None else round(fraction, 4),
            "eta_seconds": None if eta is None else round(eta, 1)}


class Lease(threading.Thread):
    """Keeps a running attempt's lease fresh and relays stop requests to its context, until `stop()`."""

    def __init__(self, settings: Settings, db: sessionmaker[Session], ctx: WorkerContext, part: int | None,
                 on_force_stop: Callable[[], None], may_kill: bool) -> None:
        super().__init__(name=f"lease-{ctx.task_id[:8]}", daemon=True)
        self._settings = settings
        self._db = db
        self._ctx = ctx
        self._part = part
        self._on_force_stop = on_force_stop
        self._may_kill = may_kill
        self._stopped = threading.Event()
        self._renew_every = max(0.5, settings.task_lease_seconds / 3)

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)

    def run(self) -> None:
        next_renew = 0.0
        cancel_seen: float | None = None
        while not self._stopped.wait(CONTROL_SECONDS if next_renew else 0):
            now = time.monotonic()
            renew = now >= next_renew
            until = utc_now() + timedelta(seconds=self._settings.task_lease_seconds) if renew else None
            try:
                with self._db.begin() as session:
                    if self._part is None:
                        seen = repo.control(session, self._ctx.task_id, self._ctx.attempt, until)
                    else:
                        alive = not renew or repo.renew_part(session, self._ctx.task_id, self._ctx.attempt,
                                                              self._part, until or utc_now())
                        seen = repo.control(session, self._ctx.task_id, self._ctx.attempt, None) if alive else None
            except Exception:  # the database may blip; the lease is long enough to try again
                log.warning("could not renew the lease of task %s", self._ctx.task_id, exc_info=True)
                continue
            if renew:
                next_renew = now + self._renew_every
            if seen is None:
                self._ctx.lost.set()
                return
            if seen[0] == "CANCELLING":
                self._ctx.cancel.set()
                cancel_seen = cancel_seen or now
                if now - cancel_seen >= self._settings.task_cancel_grace_seconds:
                    self._force_stop()
                    return

    def _force_stop(self) -> None:
        log.warning("task %s did not reach a checkpoint within %.1f s of its stop; ending it", self._ctx.task_id,
                    self._settings.task_cancel_grace_seconds)
        try:
            self._on_force_stop()
        finally:
            if self._may_kill:
                os.kill(os.getpid(), signal.SIGKILL)
