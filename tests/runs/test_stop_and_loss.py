"""How a run ends when it does not finish: stopped by its owner (DELETE /tasks/{id}) it ends CANCELLED after the
current step with that step's checkpoint downloadable; its worker killed with SIGKILL, it ends ERROR worker_lost
(never retried) with the last checkpoint it saved still downloadable. Real SmolLM2-135M LoRA runs on CPU."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from backend.db import tasks as task_repo
from tests.conftest import shared_file
from tests.runs.conftest import FAST_CONFIG, QUICK, unzip, upload_and_analyze, wait_for_task
from tests.tasks.conftest import app_state, worker_pid

pytestmark = pytest.mark.slow


async def start_long_run(client: Any, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    data = shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl")
    session_id, analysed = await upload_and_analyze(client, data, headers=headers)
    assert analysed.status_code == 200, analysed.text
    r = await client.post("/training/runs", headers=headers, json={
        "session_id": session_id, "model": "smollm2-135m-instruct", "training_config": {**FAST_CONFIG,
                                                                                         "max_steps": 40},
        "eval_split": 0.0, **QUICK, **extra})
    assert r.status_code == 202, r.text
    started: dict[str, Any] = r.json()
    return started


def has_trained(task: dict[str, Any]) -> bool:
    return int(task["metrics"].get("step") or 0) >= 1


async def test_a_stop_ends_the_run_cancelled_with_the_checkpoint_of_its_last_step(client: Any, auth_headers: Any,
                                                                                   tmp_path: Path) -> None:
    alice = auth_headers("alice-id")
    started = await start_long_run(client, alice)
    task_id = started["task_id"]
    running = await wait_for_task(client, task_id, alice, states=("RUNNING",), until=has_trained)
    asked_at_step = int(running["metrics"]["step"])

    r = await client.delete(f"/tasks/{task_id}", headers=alice)
    assert r.status_code in (200, 202), r.text
    task = await wait_for_task(client, task_id, alice, states=("CANCELLED",))
    assert task["result"]["stopped"] == "at a checkpoint"  # the run stopped itself, it was not killed
    checkpoint = task["artifacts"]["checkpoint"]
    assert asked_at_step <= checkpoint["step"] < 40

    run = (await client.get(f"/training/runs/{task_id}", headers=alice)).json()
    downloads = {d["name"]: d for d in run["downloads"]}
    assert downloads["checkpoint"]["step"] == checkpoint["step"] and "adapter" not in downloads
    assert run["model"]["status"] == "Failed"
    assert f"checkpoint of step {checkpoint['step']}" in run["model"]["status_detail"]

    r = await client.get(f"/training/runs/{task_id}/files/checkpoint", headers=alice)
    assert r.status_code == 200, r.text
    folder = unzip(r.content, tmp_path / "checkpoint")
    assert folder.name.endswith(f"step{checkpoint['step']}")
    assert (folder / "adapter_model.safetensors").stat().st_size > 0
    state = json.loads((folder / "trainer_state.json").read_text())
    assert state["global_step"] == checkpoint["step"]
    results = (await client.get(f"/training/runs/{task_id}/files/results", headers=alice)).json()
    assert results["status"] == "cancelled" and results["stopped_at_step"] == checkpoint["step"]

    r = await client.delete(f"/tasks/{task_id}", headers=alice)
    assert r.status_code == 409 and r.json()["error"] == "task_finished"


async def test_a_killed_worker_ends_the_run_worker_lost_with_its_last_checkpoint(client: Any, auth_headers: Any,
                                                                                 tmp_path: Path) -> None:
    alice = auth_headers("alice-id")
    started = await start_long_run(client, alice, checkpoint_steps=1)
    task_id = started["task_id"]
    running = await wait_for_task(client, task_id, alice, states=("RUNNING",),
                                  until=lambda t: "checkpoint" in t["artifacts"])
    saved_step = running["artifacts"]["checkpoint"]["step"]
    internal = (await client.get(f"/tasks/{task_id}", headers=alice)).json()
    assert "worker" not in internal  # the worker's host is not shown; the engine's row has it
    async with app_state(client).session() as session:
        row = await session.run_sync(task_repo.get_task, task_id)
        assert row is not None and row.worker
        pid = worker_pid(row.worker)
    os.kill(pid, signal.SIGKILL)

    task = await wait_for_task(client, task_id, alice, states=("ERROR",))
    assert task["error"]["code"] == "worker_lost" and task["attempt"] == 1  # never retried automatically
    assert "not restarted automatically" in task["error"]["message"]
    run = (await client.get(f"/training/runs/{task_id}", headers=alice)).json()
    downloads = {d["name"]: d for d in run["downloads"]}
    assert downloads["checkpoint"]["step"] >= saved_step
    assert run["model"]["status"] == "Failed" and "stopped unexpectedly" in run["model"]["status_detail"]

    r = await client.get(f"/training/runs/{task_id}/files/checkpoint", headers=alice)
    folder = unzip(r.content, tmp_path / "checkpoint")
    assert (folder / "adapter_model.safetensors").stat().st_size > 0 and (folder / "slmgen-checkpoint.json").exists()
    results = (await client.get(f"/training/runs/{task_id}/files/results", headers=alice)).json()
    assert results["status"] == "running"  # as it stood at the last checkpoint: the history up to there
    assert [p["step"] for p in results["metrics_history"] if "loss" in p][-1] >= saved_step
