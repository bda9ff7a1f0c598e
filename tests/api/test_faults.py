"""Faults: a worker crash, a killed server, a failing database or disk. Nothing is lost, nothing half-written."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy.exc

from backend.settings import Settings
from tests.api.conftest import wait_for_analysis
from tests.conftest import REPO_ROOT, generated_chat_file, shared_file


async def _upload(client: httpx.AsyncClient, path: Path) -> str:
    r = await client.post("/upload", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 200, r.text
    return str(r.json()["session_id"])


async def test_a_worker_crash_fails_the_analysis_with_a_reason_and_it_can_be_retried(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    dataset = generated_chat_file(tmp_path, 40_000)
    runner = client._transport.app.state.slmgen.runner  # type: ignore[attr-defined]
    sid = await _upload(client, dataset)
    for _ in range(400):  # wait until a chunk is in a worker
        progress = runner.progress(sid)
        if progress is not None and progress.status == "analyzing":
            break
        await asyncio.sleep(0.01)
    for pid in list(runner.pool._processes):  # the pool's worker processes
        os.kill(pid, signal.SIGKILL)
    failed = await wait_for_analysis(client, sid)
    assert failed.status_code == 503
    assert failed.json()["error"] == "analysis_crashed"
    assert "retry" in failed.json()["detail"].lower()

    retry = await client.post(f"/analyze/{sid}")
    assert retry.status_code == 202
    done = await wait_for_analysis(client, sid)
    assert done.status_code == 200, done.text
    assert done.json()["total_examples"] == 40_000


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "ANALYSIS_WORKERS": "1"}
    env.pop("DATABASE_URL", None)
    slmgen = Path(sys.executable).parent / "slmgen"
    proc = subprocess.Popen([str(slmgen), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start")


@pytest.mark.slow
def test_killing_the_server_mid_analysis_loses_nothing(tmp_path: Path) -> None:
    dataset = generated_chat_file(tmp_path, 60_000)
    data_dir, port = tmp_path / "data", _free_port()
    server = _serve(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with open(dataset, "rb") as f:
            sid = httpx.post(base + "/upload", files={"file": (dataset.name, f)}, timeout=120).json()["session_id"]
        for _ in range(600):
            r = httpx.get(f"{base}/analyze/{sid}", timeout=10)
            if r.status_code == 202 and r.json()["status"] == "analyzing":
                break
            time.sleep(0.01)
        assert r.status_code == 202, "the analysis finished before the server could be killed"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its worker, mid-analysis
        server.wait()
    restarted = _serve(data_dir, port)
    try:
        for _ in range(1200):
            r = httpx.get(f"{base}/analyze/{sid}", timeout=10)
            if r.status_code != 202:
                break
            time.sleep(0.1)
        assert r.status_code == 200, r.text
        assert r.json()["total_examples"] == 60_000
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=30)


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


async def test_analyses_broken_by_the_same_crash_replace_the_pool_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    from concurrent.futures.process import BrokenProcessPool

    from backend.core.analysis import AnalysisOptions
    from backend.services import analysis_runner

    both_in_flight = threading.Barrier(2, timeout=10)

    def crashing_analysis(*_: object, **__: object) -> None:
        both_in_flight.wait()  # both analyses hold the pool that is about to break
        raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(analysis_runner, "analyze_file", crashing_analysis)
    runner = analysis_runner.AnalysisRunner(workers=1, max_concurrent=2)
    broken = runner.pool
    created: list[object] = []
    real_new_pool = runner._new_pool

    def counting_new_pool() -> object:
        created.append(real_new_pool())
        return created[-1]

    monkeypatch.setattr(runner, "_new_pool", counting_new_pool)
    try:
        outcomes = await asyncio.gather(*(runner._analyze(f"dataset-{i}", tmp_path, tmp_path, AnalysisOptions(),
                                                          lambda _: None) for i in range(2)))
        assert [o.error_code for o in outcomes] == ["analysis_crashed"] * 2
        assert len(created) == 1 and runner.pool is created[0]  # no second pool left running unowned
        assert broken._shutdown_thread  # the broken pool is released, not left to the garbage collector
    finally:
        await runner.shutdown()
