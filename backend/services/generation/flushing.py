"""A TaskContext that writes its pending reports at checkpoints, for bodies that wait on slow requests.

The worker's context coalesces frequent reports (progress, usage, metrics) and writes them with the next
report; a generation that reports a batch and then waits half a minute for the next answer would leave
that batch's usage and progress unwritten all that time. The batch loop reaches a checkpoint every 0.2 s
while it waits, so writing what is pending there (at most every FLUSH_SECONDS; nothing when nothing is)
keeps GET /tasks/{id} and the page current. Everything else is the wrapped context's own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backend.services.tasks.context import Metric, TaskContext

FLUSH_SECONDS = 0.5


class FlushingContext:
    def __init__(self, ctx: TaskContext) -> None:
        self._ctx = ctx
        self._flush = getattr(ctx, "flush", None)  # the worker's context has one; LocalContext writes nothing
        self._last = time.monotonic()

    def checkpoint(self) -> None:
        self._ctx.checkpoint()
        now = time.monotonic()
        if self._flush is not None and now - self._last >= FLUSH_SECONDS:
            self._last = now
            self._flush()

    @property
    def task_id(self) -> str:
        return self._ctx.task_id

    @property
    def attempt(self) -> int:
        return self._ctx.attempt

    @property
    def owner_id(self) -> str | None:
        return self._ctx.owner_id

    @property
    def work_dir(self) -> Path:
        return self._ctx.work_dir

    @property
    def cancel_requested(self) -> bool:
        return self._ctx.cancel_requested

    def path(self, relative: str) -> Path:
        return self._ctx.path(relative)

    def status(self, step: str) -> None:
        self._ctx.status(step)

    def progress(self, done: float, total: float | None = None) -> None:
        self._ctx.progress(done, total)

    def log(self, line: str) -> None:
        self._ctx.log(line)

    def metrics(self, values: Mapping[str, Metric], *, history: bool = False) -> None:
        self._ctx.metrics(values, history=history)

    def usage(self, **counts: float) -> None:
        self._ctx.usage(**counts)

    def artifact(self, name: str, value: Any) -> None:
        self._ctx.artifact(name, value)

    def secret(self, name: str) -> str | None:
        return self._ctx.secret(name)
