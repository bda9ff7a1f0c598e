"""What a task body sees while it runs: the one interface between long work and the task engine.

A task body is a plain function `run(ctx: TaskContext, payload: dict) -> dict` that runs in a worker
process (or, for the CLI, in the calling process). It reports through `ctx` and never touches the
tasks table itself; the engine turns these calls into compare-and-set writes on (task id, attempt),
events for `GET /tasks/{id}/events`, and the row that `GET /tasks/{id}` reads.

    def run_generation(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
        ctx.status("Generating inputs")
        for n, batch in enumerate(batches):
            ctx.checkpoint()                      # raises TaskCancelled once a stop was asked for
            ...
            ctx.usage(prompt_tokens=..., completion_tokens=..., requests=1)
            ctx.progress(n + 1, len(batches))
        return {"rows": written}                  # becomes the task's result

Raising a CoreError ends the task ERROR with its code and detail (a person's sentence: what happened and
what to do); TaskCancelled ends it CANCELLED; any other exception ends it ERROR as an internal failure.
`LocalContext` runs a body in the calling process (the CLI, unit tests) with the same contract.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

Metric = float | int | str | bool | None


class TaskCancelled(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by `checkpoint()` when a stop was requested; the engine ends the task CANCELLED."""


class TaskContext(Protocol):
    @property
    def task_id(self) -> str: ...

    @property
    def attempt(self) -> int: ...

    @property
    def owner_id(self) -> str | None: ...

    @property
    def work_dir(self) -> Path:
        """A directory of this attempt's own (on the shared storage): outputs and checkpoints go here."""
        ...

    def path(self, relative: str) -> Path:
        """A path a payload gives relative to the shared storage (DATA_DIR), resolved on this machine."""
        ...

    def status(self, step: str) -> None:
        """Append a human-readable step ("Loading the model", "Batch 3 of 10") to detailed_status."""

    def progress(self, done: float, total: float | None = None) -> None:
        """Work done so far, out of `total` (None: unknown). The engine derives fraction and ETA."""

    def log(self, line: str) -> None:
        """One log line for the task's event stream (never a secret)."""

    def metrics(self, values: Mapping[str, Metric], *, history: bool = False) -> None:
        """Set the latest metrics; with history=True the values are also kept as one point of a series
        (a training step's loss, say), streamed and readable as the task's metrics history."""

    def usage(self, **counts: float) -> None:
        """Add to the task's running usage totals (prompt_tokens, completion_tokens, requests, cost_usd…)."""

    def artifact(self, name: str, value: Any) -> None:
        """Record a result the task produced: a JSON value, or {"path": "<relative to work_dir>", ...}."""

    def checkpoint(self) -> None:
        """Raise TaskCancelled if a stop was requested. Call it between units of work."""

    @property
    def cancel_requested(self) -> bool: ...

    def secret(self, name: str) -> str | None:
        """A secret the task was submitted with (decrypted only here, in the worker), or None."""
        ...


TaskBody = Callable[[TaskContext, dict[str, Any]], dict[str, Any]]


class LocalContext:
    """A TaskContext for running a body in this process (the CLI, unit tests): no database, no queue.

    What the body reports is kept on the object (and passed to `on_event`, e.g. a progress bar);
    `cancel()` from another thread makes the next checkpoint raise TaskCancelled.
    """

    def __init__(self, work_dir: Path, *, secrets: Mapping[str, str] | None = None, owner_id: str | None = None,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None, base_dir: Path | None = None) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        self._base_dir = base_dir or Path.cwd()
        self._task_id = uuid.uuid4().hex
        self._work_dir = work_dir
        self._secrets = dict(secrets or {})
        self._owner_id = owner_id
        self._on_event = on_event
        self._cancel = threading.Event()
        self.detailed_status: list[str] = []
        self.done: float = 0.0
        self.total: float | None = None
        self.latest_metrics: dict[str, Metric] = {}
        self.metrics_history: list[dict[str, Metric]] = []
        self.usage_totals: dict[str, float] = {}
        self.artifacts: dict[str, Any] = {}
        self.logs: list[str] = []
        self.started = time.monotonic()

    @property
    def task_id(self) -> str:
        return self._task_id

    @property
    def attempt(self) -> int:
        return 1

    @property
    def owner_id(self) -> str | None:
        return self._owner_id

    @property
    def work_dir(self) -> Path:
        return self._work_dir

    def path(self, relative: str) -> Path:
        return self._base_dir / relative

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        if self._on_event is not None:
            self._on_event(kind, data)

    def status(self, step: str) -> None:
        self.detailed_status.append(step)
        self._emit("status", {"step": step})

    def progress(self, done: float, total: float | None = None) -> None:
        self.done, self.total = done, total
        self._emit("progress", {"done": done, "total": total})

    def log(self, line: str) -> None:
        self.logs.append(line)
        self._emit("log", {"line": line})

    def metrics(self, values: Mapping[str, Metric], *, history: bool = False) -> None:
        self.latest_metrics.update(values)
        if history:
            self.metrics_history.append(dict(values))
        self._emit("metrics", {"values": dict(values), "history": history})

    def usage(self, **counts: float) -> None:
        for key, value in counts.items():
            self.usage_totals[key] = self.usage_totals.get(key, 0) + value
        self._emit("usage", dict(self.usage_totals))

    def artifact(self, name: str, value: Any) -> None:
        self.artifacts[name] = value
        self._emit("artifact", {"name": name, "value": value})

    def checkpoint(self) -> None:
        if self._cancel.is_set():
            raise TaskCancelled()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def secret(self, name: str) -> str | None:
        return self._secrets.get(name)
