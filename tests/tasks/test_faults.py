"""Faults, for real: worker processes killed with SIGKILL mid-task, a server killed with its workers, a graceful
worker stop, a stale worker writing after its attempt was retried. Nothing is lost or left RUNNING forever."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.db import tasks as task_repo
from backend.db.engine import create_sync_engine, create_sync_sessionmaker, upgrade_database
from backend.db.models import Task, TaskPart
from backend.db.types import utc_now
from backend.services.tasks import engine
from tests.api.conftest import wait_for_analysis
from tests.conftest import REPO_ROOT, generated_chat_file
from tests.reliability.conftest import running_client
from tests.tasks.conftest import app_state, engine_settings, wait_for, worker_pid


async def running_part_worker(client: httpx.AsyncClient, task_id: str, timeout: float = 60) -> int:
    """The pid of a worker that is analysing one of the task's chunks right now."""
    state = app_state(client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with state.session() as session:
            rows = (await session.execute(select(TaskPart).where(
                TaskPart.task_id == task_id, TaskPart.state == "RUNNING", TaskPart.part >= 0))).scalars().all()
        if rows and rows[0].worker:
            return worker_pid(rows[0].worker)
        await asyncio.sleep(0.02)
    raise AssertionError("no chunk of the analysis started")


async def task_worker(client: httpx.AsyncClient, task_id: str) -> int:
    async with app_state(client).session() as session:
        row = await session.run_sync(task_repo.get_task, task_id)
    assert row is not None and row.worker
    return worker_pid(row.worker)


async def test_a_worker_killed_mid_chunk_is_recovered_and_the_analysis_retried_once(tmp_path: Path) -> None:
    settings = engine_settings(tmp_path / "data", analysis_workers=1)
    dataset = generated_chat_file(tmp_path, 30_000)
    async with running_client(settings) as client:
        up = (await client.post("/upload", files={"file": (dataset.name, dataset.read_bytes())})).json()
        os.kill(await running_part_worker(client, up["task_id"]), signal.SIGKILL)
        done = await wait_for_analysis(client, up["session_id"])
        assert done.status_code == 200, done.text
        assert done.json()["total_examples"] == 30_000 and done.json()["report"]["records_total"] == 30_000
        task = (await client.get(f"/tasks/{up['task_id']}")).json()
        assert (task["state"], task["attempt"], task["max_attempts"]) == ("DONE", 2, 2)
        assert any("starting attempt 2 of 2" in step for step in task["detailed_status"])
        from backend.services.datasets import get_dataset_for

        dataset_row = await get_dataset_for(app_state(client), up["session_id"], None)
        assert dataset_row.store_name == f"tasks/{up['task_id']}/2"  # the second attempt's own store


async def test_a_task_that_is_not_safe_to_rerun_ends_error_when_its_worker_is_killed(
        client: httpx.AsyncClient) -> None:
    task = await engine.submit(app_state(client), "test_steps", None, "addr:t", {"steps": 400, "seconds": 0.05})
    await wait_for(client, task.id, ("RUNNING",), until=lambda t: t["progress"]["done"] >= 1)
    os.kill(await task_worker(client, task.id), signal.SIGKILL)
    ended = await wait_for(client, task.id, timeout=60)
    assert ended["state"] == "ERROR" and ended["attempt"] == 1
    assert ended["error"]["code"] == "worker_lost"
    assert "not restarted automatically" in ended["error"]["message"]


async def test_a_retried_task_killed_again_ends_error_after_its_second_attempt(client: httpx.AsyncClient) -> None:
    task = await engine.submit(app_state(client), "test_retried_steps", None, "addr:t",
                               {"steps": 400, "seconds": 0.05})
    for attempt in (1, 2):
        await wait_for(client, task.id, ("RUNNING",), timeout=60,
                       until=lambda t, a=attempt: t["attempt"] == a and t["progress"]["done"] >= 1)
        os.kill(await task_worker(client, task.id), signal.SIGKILL)
    ended = await wait_for(client, task.id, timeout=60)
    assert (ended["state"], ended["attempt"], ended["error"]["code"]) == ("ERROR", 2, "worker_lost")
    assert "retried once already" in ended["error"]["message"]


async def test_a_graceful_worker_stop_reruns_what_is_safe_and_fails_the_rest_with_the_reason(
        tmp_path: Path) -> None:
    settings = engine_settings(tmp_path / "data")
    async with running_client(settings) as client:
        state = app_state(client)

        async def stop_workers_while_running(kind: str) -> str:
            task = await engine.submit(state, kind, None, "addr:t", {"steps": 200, "seconds": 0.02})
            await wait_for(client, task.id, ("RUNNING",), until=lambda t: t["progress"]["done"] >= 1)
            assert state.workers is not None
            await state.workers.stop()  # SIGTERM: what a deploy or a shutdown does
            state.workers = None
            return task.id

        unsafe = await stop_workers_while_running("test_steps")
        stopped = (await client.get(f"/tasks/{unsafe}")).json()
        assert (stopped["state"], stopped["error"]["code"]) == ("ERROR", "worker_stopped")
        await state.start_workers()
        safe = await stop_workers_while_running("test_retried_steps")
        requeued = (await client.get(f"/tasks/{safe}")).json()
        assert (requeued["state"], requeued["attempt"]) == ("QUEUED", 2)
        await state.start_workers()
        done = await wait_for(client, safe)
        assert (done["state"], done["attempt"], done["result"]["steps"]) == ("DONE", 2, 200)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "ANALYSIS_WORKERS": "1", "TASK_LEASE_SECONDS": "2"}
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
def test_killing_the_server_and_its_workers_mid_analysis_loses_nothing(tmp_path: Path) -> None:
    dataset = generated_chat_file(tmp_path, 60_000)
    data_dir, port = tmp_path / "data", _free_port()
    server = _serve(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with open(dataset, "rb") as f:
            up = httpx.post(base + "/upload", files={"file": (dataset.name, f)}, timeout=120).json()
        for _ in range(600):
            r = httpx.get(f"{base}/analyze/{up['session_id']}", timeout=10)
            if r.status_code == 202 and r.json()["status"] == "analyzing":
                break
            time.sleep(0.01)
        assert r.status_code == 202, "the analysis finished before the server could be killed"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its whole worker tree, mid-analysis
        server.wait()
    restarted = _serve(data_dir, port)
    try:
        for _ in range(1200):
            r = httpx.get(f"{base}/analyze/{up['session_id']}", timeout=10)
            if r.status_code != 202:
                break
            time.sleep(0.1)
        assert r.status_code == 200, r.text
        assert r.json()["total_examples"] == 60_000
        task = httpx.get(f"{base}/tasks/{up['task_id']}", timeout=10).json()
        assert (task["state"], task["attempt"]) == ("DONE", 2)  # recovered by the restarted server's workers
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=30)


def test_a_stale_worker_cannot_write_once_its_attempt_was_retried(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cas.db'}"
    upgrade_database(url)
    db = create_sync_sessionmaker(create_sync_engine(url))
    now = utc_now()
    with db.begin() as session:
        session.add(Task(id="t" * 32, kind="analysis", queue="analysis", client="addr:x", state="QUEUED", attempt=1,
                         max_attempts=2,
                         payload={}, detailed_status=[], metrics={}, usage={}, artifacts={}, created_at=now,
                         updated_at=now))
    with db.begin() as session:
        assert task_repo.claim_task(session, "t" * 32, 1, "host:1", now)
        assert not task_repo.claim_task(session, "t" * 32, 1, "host:2", now)  # a duplicate message
    with db.begin() as session:  # recovery: the lease lapsed, attempt 2 starts
        assert task_repo.retry_task(session, "t" * 32, 1, "lost", now)
    with db.begin() as session:
        assert not task_repo.update_live(session, "t" * 32, 1, progress_done=99.0)
        assert not task_repo.finish_task(session, "t" * 32, 1, "DONE", result={"stale": True})
        assert task_repo.control(session, "t" * 32, 1, now) is None
        assert task_repo.claim_task(session, "t" * 32, 2, "host:3", now)
        assert task_repo.finish_task(session, "t" * 32, 2, "DONE", result={"fresh": True})
    with db.begin() as session:
        row = task_repo.get_task(session, "t" * 32)
        assert row is not None
        assert (row.state, row.attempt, row.result, row.progress_done) == ("DONE", 2, {"fresh": True}, 0.0)
        states = [(e.attempt, e.data["state"]) for e in task_repo.events_after(session, "t" * 32, 0)
                  if e.kind == "state"]
    assert states == [(1, "RUNNING"), (2, "QUEUED"), (2, "RUNNING"), (2, "DONE")]


async def test_a_small_analysis_does_not_wait_behind_a_large_one(tmp_path: Path) -> None:
    settings = engine_settings(tmp_path / "data", analysis_workers=1, max_analyses_per_client=5)
    large = generated_chat_file(tmp_path, 40_000)
    small = (REPO_ROOT.parent / "shared" / "data" / "openai_cookbook_toy_chat_fine_tuning.jsonl").read_bytes()
    async with running_client(settings) as client:
        big = (await client.post("/upload", files={"file": (large.name, large.read_bytes())})).json()
        await running_part_worker(client, big["task_id"])
        little = (await client.post("/upload", files={"file": ("toy.jsonl", small)})).json()
        assert (await wait_for_analysis(client, little["session_id"])).status_code == 200
        big_now: dict[str, Any] = (await client.get(f"/tasks/{big['task_id']}")).json()
        assert big_now["state"] == "RUNNING", big_now  # the small one finished while the large one was mid-way
        assert big_now["progress"]["done"] < big_now["progress"]["total"]
        assert (await wait_for_analysis(client, big["session_id"])).status_code == 200
