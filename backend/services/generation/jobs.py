"""The server's side of generation: check a request, queue it as a task, and read a task's rows back.

    task = await start_generation(state, "inputs", user, client, body, openai_key=header)   # seed 004
    view = await job_view(state, task)                     # {job_id, state, detailed_status, data, ...}
    async for chunk in follow_rows(state, task, user, ...)  # the rows as text lines, while they are written

Everything a request can get wrong is refused here, before a task exists: a wrong field (422, named), a
provider that is not configured (422), no key for a provider that needs one (401), a Hub push without a Hub
token (401). Keys travel only as the task's encrypted secrets. The rows are read from the attempt's own
rows file (tasks/<id>/<attempt>/rows.jsonl), which the body appends whole batches to.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from backend.auth import User
from backend.core.errors import InvalidInputError, NotFoundError, UnauthorizedError
from backend.core.generation.payloads import validate_request
from backend.core.generation.rows import ROWS_FILE, data_line, iter_rows, row_data
from backend.db.models import FINAL_TASK_STATES, Task
from backend.services import storage
from backend.services.datasets import finished_report, get_dataset_for, new_session_id, store_dir
from backend.services.generation.dataset_task import KIND_OF_MODE, UPLOAD_NAME, GenerationJob
from backend.services.generation.estimate import estimate_generation
from backend.services.generation.hub_task import HubTarget
from backend.services.generation.providers import KEY_SECRET, api_key_for, list_providers, resolve_provider
from backend.services.hub.client import TOKEN_HINT, check_repo_id
from backend.services.hub.payloads import HF_TOKEN_SECRET
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.tasks.worker_context import task_dir

HUB_KIND = "generation_hub"
GENERATION_KINDS = (*KIND_OF_MODE.values(), HUB_KIND)
# Seed 004's states: a task being stopped is still running until it has stopped.
SEED_STATES = {"QUEUED": "QUEUED", "RUNNING": "RUNNING", "CANCELLING": "RUNNING", "DONE": "DONE", "ERROR": "ERROR",
               "CANCELLED": "CANCELLED"}
POLL_SECONDS = 0.25
MAX_KEY_CHARS = 512


async def start_generation(state: AppState, mode: str, user: User | None, client: str, request: dict[str, Any], *,
                           openai_key: str | None, session_id: str | None = None, hub: HubTarget | None = None,
                           hub_token: str | None = None) -> Task:
    """Check the request as the body will, then queue it; answers at once with the QUEUED task."""
    if "dataset_path" in request:
        raise InvalidInputError("dataset_path cannot be given: to grow one of your datasets, name it by its "
                                "session_id.", code="invalid_generation_request", field="dataset_path")
    parsed = validate_request(mode, request)
    secrets = _secrets(state, parsed.provider, openai_key)
    payload: dict[str, Any] = new_job(state, mode, request)
    if session_id is not None:
        payload["parent_id"], payload["seed_store"] = await seed_store(state, session_id, user)
    kind = KIND_OF_MODE[mode]
    if hub is not None:
        check_repo_id(hub.repo)
        if not hub_token:
            raise UnauthorizedError(f"A Hugging Face token with write access is needed to push the rows to "
                                    f"{hub.repo}. {TOKEN_HINT}.", code="hub_token_missing")
        secrets[HF_TOKEN_SECRET] = hub_token
        payload.update(mode=mode, hub=hub.model_dump())
        kind = HUB_KIND
    return await engine.submit(state, kind, user, client, payload, secrets=secrets or None, status="Queued")


def _secrets(state: AppState, provider_name: str | None, openai_key: str | None) -> dict[str, str]:
    """The provider must be configured, and have a key when it needs one: refused now, not in a worker."""
    key = (openai_key or "").strip() or None
    if key is not None and (len(key) > MAX_KEY_CHARS or not key.isprintable()):
        raise UnauthorizedError("The X-OpenAI-Key header does not hold an API key.", code="provider_key_invalid")
    provider = resolve_provider(state.settings, provider_name)
    api_key_for(provider, key)
    return {KEY_SECRET: key} if key and provider.kind != "embedded" else {}


def new_job(state: AppState, mode: str, request: dict[str, Any]) -> dict[str, Any]:
    """The task payload: the request and the new dataset it will become (its id and file, chosen here)."""
    dataset_id = new_session_id()
    upload = storage.upload_path(state.settings, dataset_id, UPLOAD_NAME).relative_to(state.settings.data_dir)
    label = {"view": str(request.get("task", "view")).replace("text_", "")}.get(mode, mode)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return GenerationJob(request=request, dataset_id=dataset_id, upload=upload.as_posix(),
                         filename=f"generated-{label}-{stamp}.jsonl").model_dump(exclude_none=True)


async def seed_store(state: AppState, session_id: str, user: User | None) -> tuple[str, str]:
    """(dataset id, its analysis store relative to DATA_DIR) of one of the caller's analysed datasets."""
    if not isinstance(session_id, str):
        raise InvalidInputError("session_id must be the id of one of your datasets.", field="session_id")
    dataset = await get_dataset_for(state, session_id, user)
    await finished_report(state, dataset)  # not analysed (yet, or at all): the error says which
    return dataset.id, store_dir(state, dataset).relative_to(state.settings.data_dir).as_posix()


async def estimate(state: AppState, mode: str, request: dict[str, Any], session_id: str | None,
                   user: User | None) -> dict[str, Any]:
    """The cost estimate of a request before it starts (nothing is sent to any provider)."""
    if "dataset_path" in request:
        raise InvalidInputError("dataset_path cannot be given: name the dataset by its session_id.",
                                code="invalid_generation_request", field="dataset_path")
    if session_id is not None:
        dataset = await get_dataset_for(state, session_id, user)
        await finished_report(state, dataset)
        request = {**request, "dataset_path": str(store_dir(state, dataset))}
    return await asyncio.to_thread(estimate_generation, state.settings, mode, request)


def provider_views(state: AppState) -> list[dict[str, Any]]:
    """The providers a user may choose (no URL, no key), and whether the embedded one can run here."""
    views = list_providers(state.settings)
    for view in views:
        if view["kind"] == "embedded":
            missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
            view["available"] = not missing
            view["unavailable_reason"] = (f"this server lacks {' and '.join(missing)} (install them, e.g. pip "
                                          "install torch transformers gguf)") if missing else None
        else:
            view["available"] = True
            view["unavailable_reason"] = None
    return views


# --- reading a generation task ---------------------------------------------------------------------------------


def unknown_job() -> NotFoundError:
    return NotFoundError("No generation job with this id (it may have expired, or belong to someone else).",
                         code="job_not_found")


async def get_generation_task(state: AppState, task_id: str, user: User | None,
                              kinds: tuple[str, ...] = GENERATION_KINDS) -> Task:
    try:
        task = await engine.get_task(state, task_id, user)
    except NotFoundError:
        raise unknown_job() from None
    if task.kind not in kinds:
        raise unknown_job()
    return task


def mode_of(task: Task) -> str:
    """The rows' mode (inputs, examples, classification, seq2seq, questions) of a generation task."""
    request = task.payload.get("request", {})
    kind_mode = task.payload.get("mode") if task.kind == HUB_KIND else next(
        mode for mode, kind in KIND_OF_MODE.items() if kind == task.kind)
    if kind_mode == "view":
        return "classification" if request.get("task") == "text_classification" else "seq2seq"
    return str(kind_mode)


def rows_file(state: AppState, task: Task) -> Path | None:
    """The rows file that holds every row so far: this attempt's, or (while a retry has not written its copy
    yet) the last earlier attempt's."""
    base = task_dir(state.settings, task.id)
    for attempt in range(task.attempt, 0, -1):
        path = base / str(attempt) / ROWS_FILE
        if path.is_file() and (attempt == 1 or path.stat().st_size > 0):
            return path
    return None


async def data_lines(state: AppState, task: Task) -> list[str]:
    path = rows_file(state, task)
    if path is None:
        return []
    mode = mode_of(task)
    return await asyncio.to_thread(lambda: [data_line(row, mode) for row in iter_rows(path)])


async def job_view(state: AppState, task: Task) -> dict[str, Any]:
    """Seed 004's DataGenerationStatus, with what else a client needs to follow the job."""
    steps = list(task.detailed_status or [])
    if task.state == "ERROR" and task.error_message:
        steps.append(task.error_message)
    result = task.result or {}
    return {"job_id": task.id, "state": SEED_STATES[task.state], "detailed_status": steps,
            "data": await data_lines(state, task), **extras(task, result)}


def extras(task: Task, result: dict[str, Any]) -> dict[str, Any]:
    view = engine.task_view(task)
    return {"task_state": task.state, "progress": view["progress"], "usage": view["usage"],
            "error": view["error"], "dataset_id": result.get("dataset_id"),
            "analysis_task_id": result.get("analysis_task_id")}


class RowTail:
    """Reads a rows file as it grows: whole lines only, each row once (by its number), across attempts."""

    def __init__(self, after: int) -> None:
        self.next_number = after
        self._path: Path | None = None
        self._offset = 0

    def read(self, path: Path) -> list[dict[str, Any]]:
        if path != self._path:  # a new attempt writes its own file, starting with the rows it carried over
            self._path, self._offset = path, 0
        with path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        rows = []
        for line in complete.splitlines():
            row = orjson.loads(line) if line.strip() else None
            if isinstance(row, dict) and int(row.get("n", -1)) >= self.next_number:
                rows.append(row)
                self.next_number = int(row["n"]) + 1
        return rows


async def follow_rows(state: AppState, task: Task, user: User | None, *, after: int, follow: bool,
                      line: Callable[[dict[str, Any], str], bytes]) -> AsyncIterator[bytes]:
    """The task's rows from number `after` on, one `line(row, mode)` each; with `follow`, until the task ends."""
    mode = mode_of(task)
    tail = RowTail(after)
    while True:
        path = rows_file(state, task)
        rows = await asyncio.to_thread(tail.read, path) if path is not None else []
        for row in rows:
            yield line(row, mode)
        if not follow or (task.state in FINAL_TASK_STATES and not rows):
            return
        if not rows:
            await asyncio.sleep(POLL_SECONDS)
        task = await engine.get_task(state, task.id, user)


def text_line(row: dict[str, Any], mode: str) -> bytes:
    return data_line(row, mode).encode() + b"\n"


def json_line(row: dict[str, Any], mode: str) -> bytes:
    return orjson.dumps({"n": row.get("n"), **row_data(row, mode), "provenance": row.get("provenance")}) + b"\n"
