"""Faults at the edge: a failing database or disk. Nothing is lost, nothing half-written. (Killed workers and
servers: tests/tasks/test_faults.py.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy.exc

from backend.settings import Settings
from tests.api.conftest import wait_for_analysis
from tests.conftest import shared_file


async def _upload(client: httpx.AsyncClient, path: Path) -> str:
    r = await client.post("/upload", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 200, r.text
    return str(r.json()["session_id"])


async def test_a_database_error_is_503_and_leaves_no_file(client: httpx.AsyncClient, settings: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.db import repository

    async def broken(*_: object, **__: object) -> None:
        raise sqlalchemy.exc.OperationalError("INSERT INTO datasets", {}, Exception("disk I/O error"))

    monkeypatch.setattr(repository, "add_dataset", broken)
    path = shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl")
    r = await client.post("/upload", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 503
    assert r.json()["error"] == "database_unavailable"
    assert r.headers["retry-after"]
    assert "disk I/O" not in r.text and "INSERT" not in r.text
    assert list(settings.uploads_dir.iterdir()) == []


async def test_a_full_disk_is_503_and_leaves_no_file(client: httpx.AsyncClient, settings: Settings,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.services import multipart

    def no_space(self: object, data: bytes, start: int, end: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(multipart._FilePartWriter, "on_part_data", no_space)
    r = await client.post("/upload", files={"file": ("a.jsonl", b'{"messages": []}\n' * 100)})
    assert r.status_code == 503
    assert r.json()["error"] == "storage_unavailable"
    assert list(settings.uploads_dir.iterdir()) == []


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_job_write_whose_commit_fails_is_503_not_a_success(
        client: httpx.AsyncClient, settings: Settings, auth_headers: object, method: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    headers = auth_headers("user-commit-fails")  # type: ignore[operator]
    path = shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl")
    up = await client.post("/upload", files={"file": (path.name, path.read_bytes())}, headers=headers)
    sid = up.json()["session_id"]
    await wait_for_analysis(client, sid, headers)
    job_id = (await client.get("/jobs", headers=headers)).json()[0]["id"]

    real_commit, real_flush = AsyncSession.commit, AsyncSession.flush
    writers: set[int] = set()

    async def noting_flush(self: AsyncSession, objects: object = None) -> None:
        writers.add(id(self))
        await real_flush(self, objects)  # type: ignore[arg-type]

    async def failing_commit(self: AsyncSession) -> None:
        if id(self) in writers:  # only the session that wrote fails to commit, not the reads around it
            raise sqlalchemy.exc.OperationalError("COMMIT", {}, Exception("database is locked"))
        await real_commit(self)

    monkeypatch.setattr(AsyncSession, "flush", noting_flush)
    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    if method == "PATCH":
        r = await client.patch(f"/jobs/{job_id}", json={"task_type": "qa"}, headers=headers)
    else:
        r = await client.post("/jobs", json={"session_id": sid, "dataset_filename": "renamed.jsonl"},
                              headers=headers)
    # The answer must not claim a change that was never saved.
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "database_unavailable"
    monkeypatch.setattr(AsyncSession, "commit", real_commit)
    monkeypatch.setattr(AsyncSession, "flush", real_flush)
    job = (await client.get(f"/jobs/{job_id}", headers=headers)).json()
    assert job["task_type"] is None and job["dataset_filename"] == path.name
