"""The JSON shape of a training run: the task (state, progress, metrics, error), its model, where it runs, and the
files that can be downloaded now."""

from __future__ import annotations

from typing import Any

from backend.db.models import RegisteredModel, Task
from backend.services.registry.service import model_view
from backend.services.runs.files import outputs_of
from backend.services.tasks import engine
from backend.settings import Settings


def run_view(settings: Settings, task: Task, model: RegisteredModel | None) -> dict[str, Any]:
    payload = task.payload or {}
    placement = payload.get("placement") or {}
    downloads = [
        {"name": output.name, "url": f"/training/runs/{task.id}/files/{output.name}", "bytes": output.size,
         "folder": output.is_folder, **({"step": output.step} if output.step is not None else {})}
        for output in outputs_of(settings, task).values()
    ]
    return {
        "task_id": task.id,
        "state": task.state,
        "task": payload.get("task"),
        "base_model": payload.get("base_model") or (model.base_model if model else None),
        "queue": task.queue,
        "placement": placement,
        "model_name": model.id if model else payload.get("model_id"),
        "model": model_view(model) if model else None,
        "downloads": downloads,
        "events_url": f"/tasks/{task.id}/events",
        "metrics_url": f"/tasks/{task.id}/metrics",
        "run": engine.task_view(task),
    }
