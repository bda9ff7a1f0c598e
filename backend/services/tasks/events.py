"""GET /tasks/{id}/events: a task's events as Server-Sent Events, from the tasks' event table.

Workers on any machine write events into the database, so the stream polls it (a few reads a second per open
stream; the number of streams per client is capped). Every event carries its table id as the SSE `id`, so a
client that reconnects with `Last-Event-ID` gets exactly what it missed; a first connection gets the task's
whole history. The stream ends after the event that made the task final.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from backend.core.errors import RateLimitedError
from backend.db.models import FINAL_TASK_STATES, TaskEvent
from backend.services.state import AppState
from backend.services.tasks import engine

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0


@asynccontextmanager
async def stream_slot(state: AppState, client: str) -> AsyncIterator[None]:
    """Hold one of the client's event streams for as long as it is open (429 beyond the limit)."""
    limit = state.settings.max_event_streams_per_client
    if state.event_streams[client] >= limit:
        raise RateLimitedError(f"You already have {limit} event streams open; close one (or poll GET /tasks/{{id}}) "
                               "before opening another.", retry_after=5)
    state.event_streams[client] += 1
    try:
        yield
    finally:
        state.event_streams[client] -= 1
        if state.event_streams[client] <= 0:
            del state.event_streams[client]


def format_event(event: TaskEvent) -> bytes:
    data = json.dumps({**event.data, "task_id": event.task_id, "attempt": event.attempt,
                       "at": event.created_at.isoformat()}, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n".encode()


async def stream_events(state: AppState, task_id: str, after: int) -> AsyncIterator[bytes]:
    last = after
    quiet_since = time.monotonic()
    yield b"retry: 1000\n\n"
    while True:
        events, task_state = await engine.events_after(state, task_id, last)
        for event in events:
            last = event.id
            yield format_event(event)
        if events:
            quiet_since = time.monotonic()
            continue  # there may be more than one page
        if task_state is None or task_state in FINAL_TASK_STATES:
            return
        if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield b": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)
