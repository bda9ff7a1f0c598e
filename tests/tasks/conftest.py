"""The engine with real workers: the app's embedded `slmgen worker` (a separate process tree), a SQLite queue,
short leases so that recovery happens within seconds, and the test kinds of tests/tasks/plugin.py."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.services.state import AppState
from backend.settings import Settings
from tests.api.conftest import auth_headers  # noqa: F401 - fixture re-exported for this package
from tests.reliability.conftest import make_settings, running_client

FINAL = ("DONE", "ERROR", "CANCELLED")


def engine_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"task_plugins": ["tests.tasks.plugin"], "task_lease_seconds": 2.0,
                              "task_cancel_grace_seconds": 1.0, **overrides}
    return make_settings(data_dir, **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return engine_settings(tmp_path / "data")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings) as c:
        yield c


def app_state(client: httpx.AsyncClient) -> AppState:
    state: AppState = client._transport.app.state.slmgen  # type: ignore[attr-defined]
    return state


async def wait_for(client: httpx.AsyncClient, task_id: str, states: tuple[str, ...] = FINAL,
                   headers: dict[str, str] | None = None, timeout: float = 120.0,
                   until: Any = None) -> dict[str, Any]:
    """Poll GET /tasks/{id} until its state is one of `states` (and `until(task)` holds, when given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        r = await client.get(f"/tasks/{task_id}", headers=headers or {})
        assert r.status_code == 200, r.text
        task: dict[str, Any] = r.json()
        if task["state"] in states and (until is None or until(task)):
            return task
        if loop.time() > deadline:
            raise AssertionError(f"task {task_id} did not reach {states} within {timeout:.0f} s: {task}")
        await asyncio.sleep(0.05)


def worker_pid(task: dict[str, Any] | str) -> int:
    """The process a task (or part) runs in, from its `worker` column (host:pid)."""
    name = task if isinstance(task, str) else task["worker"]
    return int(name.rsplit(":", 1)[1])


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
