"""The task engine's routes: GET /tasks, GET|DELETE /tasks/{id}, GET /tasks/{id}/events (SSE), GET /tasks/{id}/
metrics, and seed 000's GET /track/{task_id}. Someone else's task is a 404, like one that never existed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from backend.api.deps import ClientKeyDep, CurrentUserDep, OptionalUserDep, StateDep
from backend.api.routes.jobs import page_links
from backend.api.schemas.tasks import TaskList, TaskRead, TrackRead
from backend.services.tasks import engine, events

router = APIRouter(tags=["tasks"])


@router.get("/tasks", response_model=TaskList)
async def list_tasks(request: Request, response: Response, user: CurrentUserDep, state: StateDep,
                     kind: str | None = Query(None, max_length=40), task_state: str | None = Query(None, alias="state"),
                     limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0)) -> TaskList:
    """The caller's tasks, newest first. Paging: `X-Total-Count` and `Link` headers."""
    tasks, total = await engine.list_tasks(state, user, kind=kind, task_state=task_state, limit=limit,
                                           offset=offset)
    response.headers["X-Total-Count"] = str(total)
    response.headers["Link"] = page_links(request, limit, offset, total)
    return TaskList([TaskRead(**engine.task_view(t)) for t in tasks])


@router.get("/tasks/{task_id}", response_model=TaskRead)
async def get_task(task_id: str, state: StateDep, user: OptionalUserDep) -> TaskRead:
    return TaskRead(**engine.task_view(await engine.get_task(state, task_id, user)))


@router.delete("/tasks/{task_id}", response_model=TaskRead, status_code=202)
async def cancel_task(task_id: str, state: StateDep, user: OptionalUserDep) -> Any:
    """Stop a task: a queued one at once (CANCELLED), a running one at its next checkpoint (CANCELLING, then
    CANCELLED within seconds). A finished task is 409 with its state."""
    task = await engine.cancel(state, task_id, user)
    view = engine.task_view(task)
    return JSONResponse(TaskRead(**view).model_dump(), status_code=200 if task.state == "CANCELLED" else 202)


@router.get("/tasks/{task_id}/metrics")
async def task_metrics(task_id: str, state: StateDep, user: OptionalUserDep) -> dict[str, Any]:
    """The metrics history (e.g. a training run's loss per step), oldest first."""
    task = await engine.get_task(state, task_id, user)
    return {"task_id": task.id, "latest": task.metrics or {}, "history": await engine.metrics_history(state, task)}


@router.get("/tasks/{task_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def task_events(task_id: str, state: StateDep, user: OptionalUserDep, client: ClientKeyDep,
                      last_event_id: str | None = Header(None),
                      after: int | None = Query(None, ge=0, description="same as Last-Event-ID")) -> StreamingResponse:
    """Server-Sent Events: state changes, status steps, progress, partial figures, metrics, log lines. Each has
    an `id`; reconnect with `Last-Event-ID` to get what you missed. The stream ends when the task does."""
    await engine.get_task(state, task_id, user)  # 404 before the stream opens
    start = after if after is not None else _event_id(last_event_id)
    slot = events.stream_slot(state, client)
    await slot.__aenter__()  # 429 now, not after the 200 was sent

    async def body() -> Any:
        try:
            async for chunk in events.stream_events(state, task_id, start):
                yield chunk
        finally:
            await slot.__aexit__(None, None, None)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/workers")
async def workers(state: StateDep) -> dict[str, Any]:
    """Which queues live workers take right now, and how many workers take each (no hosts: that is internal)."""
    return {"queues": await engine.workers_by_queue(state)}


@router.get("/track/{task_id}", response_model=TrackRead)
async def track(task_id: str, state: StateDep, user: OptionalUserDep) -> TrackRead:
    """Seed 000's tracking route: the task (its state, progress, metrics and result) under `response`."""
    return TrackRead(response=TaskRead(**engine.task_view(await engine.get_task(state, task_id, user))))


def _event_id(header: str | None) -> int:
    try:
        return max(0, int(header)) if header else 0
    except ValueError:
        return 0
