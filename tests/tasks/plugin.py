"""Task kinds for the engine's own tests, registered through TASK_PLUGINS (as any plugin would be).

They exercise the engine with bodies whose behaviour the tests control through the payload: how many steps,
how long each, whether to honour checkpoints, how to fail. Real bodies (analysis, generation, training) are
tested with their subsystems.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from sqlalchemy.orm import Session

from backend.core.errors import InvalidInputError
from backend.db.models import Dataset, Task
from backend.services.analysis_task import queue_analysis
from backend.services.tasks.context import TaskContext
from backend.services.tasks.kinds import TaskKind, register
from backend.settings import Settings


def steps(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """`steps` steps of `seconds` each, a checkpoint before each; reports progress, metrics, a log line."""
    total = int(payload.get("steps", 5))
    ctx.status(f"Stepping {total} times")
    for step in range(total):
        ctx.checkpoint()
        time.sleep(float(payload.get("seconds", 0.05)))
        ctx.progress(step + 1, total)
        ctx.metrics({"step": step + 1, "loss": round(1.0 / (step + 1), 4)}, history=True)
    ctx.log("all steps done")
    key = ctx.secret("api_key")
    # The test says which secret to expect by its hash: the secret itself must never be in a payload.
    digest = hashlib.sha256(key.encode()).hexdigest() if key is not None else None
    matches = digest is not None and digest == payload.get("secret_sha256")
    return {"steps": total, "had_secret": key is not None, "secret_matches": matches}


def stubborn(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Never reaches a checkpoint (a stuck library call): only a kill stops it."""
    ctx.status("Busy without checkpoints")
    time.sleep(float(payload.get("seconds", 600)))
    return {}


def failing(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("how") == "crash":
        raise RuntimeError("a bug inside the body, with a path /secret/place in its message")
    raise InvalidInputError("The payload asks for something impossible; change it.", code="impossible")


register(TaskKind(name="test_steps", queue="test", body="tests.tasks.plugin:steps", retry_when_lost=False))
register(TaskKind(name="test_retried_steps", queue="test", body="tests.tasks.plugin:steps", retry_when_lost=True))
register(TaskKind(name="test_stubborn", queue="test", body="tests.tasks.plugin:stubborn", retry_when_lost=False))
register(TaskKind(name="test_failing", queue="test", body="tests.tasks.plugin:failing", retry_when_lost=False))


def make_dataset(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Writes a small chat dataset into the upload folder of the dataset id the payload names (as a generation
    or an import does); its on_done records the dataset and queues its analysis."""
    folder = ctx.path(f"uploads/{payload['dataset_id']}")
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"messages": [{"role": "user", "content": f"question {n}?"},
                                      {"role": "assistant", "content": f"answer number {n}."}]})
             for n in range(int(payload.get("examples", 12)))]
    data = ("\n".join(lines) + "\n").encode()
    (folder / "upload.jsonl").write_bytes(data)
    return {"dataset_id": payload["dataset_id"], "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def dataset_made(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    dataset = Dataset(id=output["dataset_id"], owner_id=task.owner_id, filename="made.jsonl",
                      stored_name="upload.jsonl", size_bytes=output["size"], sha256=output["sha256"],
                      origin="generation", origin_detail={"by": task.id}, options={})
    session.add(dataset)
    session.flush()
    analysis = queue_analysis(session, Settings(), dataset, task)
    return {**output, "analysis_task_id": analysis.id}


register(TaskKind(name="test_makes_dataset", queue="test", body="tests.tasks.plugin:make_dataset",
                  on_done="tests.tasks.plugin:dataset_made", retry_when_lost=True))
