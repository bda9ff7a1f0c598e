"""The durable queue that carries task messages to workers: Huey, one queue per worker pool.

A message is only a pointer, (task id, attempt, part): the task's truth is its row, so a message that arrives
twice, late or for an attempt that was retried is simply dropped by the claim. Storage by URL:

    sqlite:///DATA_DIR/queue.db     SqliteHuey: a file, no server (the embedded default)
    postgresql://...                PostgresHuey: the same PostgreSQL as the database (LISTEN/NOTIFY wakes workers)
    redis://...                     PriorityRedisHuey

Priorities order the messages of one queue: a task's first step and its join go first, then the parts of all
tasks interleaved by part number (part 0 of every task before part 1 of any), so a one-chunk analysis never
waits behind the hundreds of chunks of a large one.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from huey import Huey, PostgresHuey, PriorityRedisHuey, SqliteHuey
from huey.api import TaskWrapper

from backend.settings import Settings

EXECUTE = "slmgen.execute"
TOP_PRIORITY = 1_000_000

_lock = threading.Lock()
_hueys: dict[tuple[str, str], tuple[Huey, TaskWrapper]] = {}


def queue_name(queue: str) -> str:
    return f"slmgen-{queue}"


def create_huey(url: str, queue: str) -> Huey:
    name = queue_name(queue)
    common: dict[str, Any] = {"results": False, "store_none": False, "utc": True,
                              "store_intermediate_errors": False}
    if url.startswith("sqlite:///"):
        return SqliteHuey(name, filename=url.removeprefix("sqlite:///"), timeout=30, **common)
    if url.startswith("postgresql"):
        _, _, rest = url.partition("://")
        huey = PostgresHuey(name, dsn=f"postgresql://{rest}", read_timeout=1, create_tables=False, **common)
        _create_tables(huey)
        return huey
    if url.startswith(("redis://", "rediss://", "unix://")):
        return PriorityRedisHuey(name, url=url, **common)
    raise ValueError(f"TASK_QUEUE_URL must be sqlite:///, postgresql:// or redis://, not {url.split(':', 1)[0]}://")


def _create_tables(huey: Huey, tries: int = 5) -> None:
    """Huey's tables, created by whichever process comes first: several starting at once may collide on
    PostgreSQL's catalog ("create table if not exists" is not atomic there), so a collision is retried."""
    for attempt in range(tries):
        try:
            huey.storage.initialize_schema()
            return
        except Exception:
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def huey_for(settings: Settings, queue: str) -> tuple[Huey, TaskWrapper]:
    """This process's Huey for a queue, with the one task it carries registered (created once)."""
    url = settings.resolved_queue_url
    with _lock:
        found = _hueys.get((url, queue))
        if found is None:
            huey = create_huey(url, queue)

            def execute(task_id: str, attempt: int, part: int | None) -> None:
                from backend.services.tasks.runner import execute_message

                execute_message(settings, task_id, attempt, part)

            found = (huey, huey.task(name=EXECUTE)(execute))
            _hueys[(url, queue)] = found
        return found


def send(settings: Settings, queue: str, task_id: str, attempt: int, part: int | None = None,
         priority: int = 0) -> None:
    """Put one message on the queue (blocking I/O: the server calls it from a thread)."""
    huey, execute = huey_for(settings, queue)
    huey.enqueue(execute.s(task_id, attempt, part, priority=priority))


def message_priority(part: int | None) -> int:
    """First steps and joins before parts; parts interleaved across tasks by their number."""
    if part is None or part < 0:
        return TOP_PRIORITY
    return max(0, TOP_PRIORITY - 1 - part)


def forget_hueys() -> None:
    """Drop this process's queue handles without touching them: a forked child opens its own connections."""
    with _lock:
        _hueys.clear()
