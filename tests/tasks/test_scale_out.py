"""Scale-out, for real: two `slmgen worker` processes started as separate machines would start them (each its
own working directory and process group, sharing only the PostgreSQL database and one storage directory)
analyse a multi-chunk file together, and their report equals the embedded one figure for figure; then one of
them is killed with SIGKILL mid-chunk and the other finishes the job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.db.models import TaskPart
from backend.services.tasks.embedded import settings_env
from backend.settings import Settings
from tests.api.conftest import wait_for_analysis
from tests.conftest import generated_chat_file
from tests.reliability.conftest import running_client
from tests.support.postgres import create_database, drop_database
from tests.tasks.conftest import app_state, engine_settings, worker_pid

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = create_database()
    yield url
    drop_database(url)


def start_worker(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    """`slmgen worker` as on another machine: its own directory and session, the shared settings only."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings_env(settings)}
    slmgen = Path(sys.executable).parent / "slmgen"
    return subprocess.Popen([str(slmgen), "worker", "--kinds", "analysis"], cwd=workdir, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "timings"}


async def analyse(client: httpx.AsyncClient, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    up = (await client.post("/upload", files={"file": (path.name, path.read_bytes())})).json()
    done = await wait_for_analysis(client, up["session_id"])
    assert done.status_code == 200, done.text
    return up, done.json()


async def running_parts(client: httpx.AsyncClient, task_id: str) -> list[TaskPart]:
    async with app_state(client).session() as session:
        rows = await session.execute(select(TaskPart).where(TaskPart.task_id == task_id, TaskPart.part >= 0))
        return list(rows.scalars().all())


async def test_two_workers_on_postgres_share_an_analysis_and_survive_losing_one(tmp_path: Path,
                                                                                postgres_url: str) -> None:
    dataset = generated_chat_file(tmp_path, 24_000)  # about 19 MB: 5 chunks of 4 MB
    embedded = engine_settings(tmp_path / "embedded", analysis_workers=2)
    async with running_client(embedded) as client:
        _, reference = await analyse(client, dataset)

    shared = engine_settings(tmp_path / "shared-storage", database_url=postgres_url, embedded_workers=False,
                             analysis_workers=1, task_plugins=[])
    workers = [start_worker(shared, tmp_path / f"machine-{n}") for n in (1, 2)]
    try:
        async with running_client(shared) as client:
            up, together = await analyse(client, dataset)
            assert comparable(together["report"]) == comparable(reference["report"])
            parts = await running_parts(client, up["task_id"])
            pids = {worker_pid(p.worker or "") for p in parts}
            assert len(parts) >= 4 and len(pids) == 2, pids  # both machines took chunks

            again = (await client.post("/upload", files={"file": (dataset.name, dataset.read_bytes())})).json()
            victim = None
            for _ in range(2000):
                running = [p for p in await running_parts(client, again["task_id"]) if p.state == "RUNNING"]
                if running and running[0].worker:
                    victim = worker_pid(running[0].worker)
                    break
                await asyncio.sleep(0.01)
            assert victim is not None, "no chunk started"
            machine = next(w for w in workers if os.getpgid(victim) == os.getpgid(w.pid))
            os.killpg(os.getpgid(machine.pid), signal.SIGKILL)  # that machine is gone, mid-chunk
            machine.wait()
            finished = await wait_for_analysis(client, again["session_id"])
            assert finished.status_code == 200, finished.text
            assert comparable(finished.json()["report"]) == comparable(reference["report"])
            task = (await client.get(f"/tasks/{again['task_id']}")).json()
            assert (task["state"], task["attempt"]) == ("DONE", 2)
            finishers = {worker_pid(p.worker or "") for p in await running_parts(client, again["task_id"])
                         if p.attempt == 2}
            assert finishers and victim not in finishers  # the surviving machine did the second attempt
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(os.getpgid(worker.pid), signal.SIGTERM)
                worker.wait(timeout=30)
