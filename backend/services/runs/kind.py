"""The task kind "training": a training run in the product, on the task engine.

    run_training_run(ctx, payload, settings) -> result      the body (a worker process; payload: RunPayload)
    on_done(session, task, output) -> result                the model is Ready, with its files and lineage
    on_end(session, task)                                   the model is Failed (error, or stopped: checkpoint)

The body checks that this worker can train (torch, transformers, TRL, PEFT, accelerate: else ERROR
`training_unavailable`), imports a Hub dataset first when the run names one, resolves the payload's paths on
this machine, and runs the trainers of backend.services.training (the runtime the notebook shares). Runs are
never retried automatically (a lost worker ends the run ERROR `worker_lost`); every checkpoint a run saves is
recorded as it lands, so the last one stays downloadable whatever ends the run.
"""

from __future__ import annotations

import gc
import importlib.util
import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from backend.core.errors import UnavailableError
from backend.db import training as registry
from backend.db.models import Dataset, Task
from backend.db.types import utc_now
from backend.services.analysis_task import queue_analysis
from backend.services.runs.payload import parse_run
from backend.services.tasks.context import TaskContext
from backend.services.training import run_training
from backend.services.training.checkpoints import latest_checkpoint
from backend.settings import Settings

# What a worker needs to train: import name → the package to install (the `train` extra has them all).
TRAINING_MODULES = {"torch": "torch", "transformers": "transformers", "trl": "trl", "peft": "peft",
                    "accelerate": "accelerate", "datasets": "datasets"}
MODEL_CACHE = "model-cache"  # under DATA_DIR: packaged models unpacked once, shared by every run


def missing_training_packages() -> list[str]:
    return [package for module, package in TRAINING_MODULES.items() if importlib.util.find_spec(module) is None]


def training_unavailable(missing: list[str]) -> UnavailableError:
    return UnavailableError(
        f"This worker cannot train: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed. "
        "Install the training packages on the worker (`pip install 'slmgen[train]'`, or `make install`), or train "
        "in the notebook on a free Colab GPU.", code="training_unavailable", missing=missing)


def run_training_run(ctx: TaskContext, payload: dict[str, Any], settings: Settings) -> dict[str, Any]:
    run = parse_run(payload)
    missing = missing_training_packages()
    if missing:
        raise training_unavailable(missing)
    ctx.status(run.placement.reason)
    imported: dict[str, Any] | None = None
    if run.hub_dataset is not None:
        from backend.services.runs.hubdata import import_for_run

        dataset, imported = import_for_run(ctx, run.hub_dataset, settings)
    else:
        assert run.dataset is not None
        dataset = ctx.path(run.dataset)
    eval_dataset = str(ctx.path(run.eval_dataset)) if run.eval_dataset else None
    trainer_payload = run.training_payload(str(dataset), eval_dataset, str(ctx.path(MODEL_CACHE)),
                                           settings.training_checkpoint_seconds)
    threads = use_threads(settings.training_cpu_threads)
    try:
        result = run_training(ctx, trainer_payload)
    finally:
        release_memory()
    results = json.loads((ctx.work_dir / result["results"]).read_text(encoding="utf-8"))
    return {**result, "config": results.get("config"), "figures": figures_of(results), "imported": imported,
            "cpu_threads": threads}


def use_threads(count: int) -> int:
    import torch

    if count:
        torch.set_num_threads(count)
    return int(torch.get_num_threads())


def release_memory() -> None:
    """A worker process runs one run after another: give back what this one held (GPU memory above all)."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def figures_of(results: dict[str, Any]) -> dict[str, Any]:
    """The headline figures a model record keeps (the results file has everything)."""
    figures: dict[str, Any] = {"final_eval": results.get("final_eval") or {}}
    classification = results.get("classification") or {}
    for key in ("accuracy", "macro_f1", "labels"):
        if key in classification:
            figures[key] = classification[key]
    history = results.get("metrics_history") or []
    losses = [point["loss"] for point in history if "loss" in point]
    if losses:
        figures.update(first_loss=losses[0], final_loss=losses[-1], steps_logged=len(losses))
    return figures


# --- hooks in the finishing transaction -----------------------------------------------------------------------


def attempt_dir(task: Task) -> str:
    """The attempt's work directory relative to DATA_DIR (worker_context.task_dir / attempt)."""
    return f"tasks/{task.id}/{task.attempt}"


def files_of(task: Task) -> dict[str, str]:
    """The run's recorded outputs as paths relative to DATA_DIR (artifacts name them relative to the attempt)."""
    base = attempt_dir(task)
    files = {name: f"{base}/{value['path']}" for name, value in (task.artifacts or {}).items()
             if isinstance(value, dict) and isinstance(value.get("path"), str)}
    return {**files, "run": base}  # the whole attempt folder goes when the model is deleted


def on_done(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    run = parse_run(task.payload)
    dataset_id = run.lineage.dataset_id
    imported = output.get("imported")
    if imported:
        dataset_id = _record_import(session, task, imported)
    labels = (output.get("figures") or {}).get("labels")
    model = registry.update_model(
        session, run.model_id, status="Ready", status_detail=None, files=files_of(task),
        base_model=output["base_model"]["name"], config=output.get("config"), metrics=output.get("figures"),
        dataset_id=dataset_id, num_classes=len(labels) if labels else None)
    return {**output, "model_name": run.model_id, "model_registered": model is not None,
            "dataset_id": dataset_id}


def on_end(session: Session, task: Task) -> None:
    """The run's model is Failed: with the run's error, or (stopped) saying where its checkpoint is."""
    run = parse_run(task.payload)
    files = files_of(task)
    if task.state == "CANCELLED":
        step = (task.artifacts or {}).get("checkpoint", {}).get("step")
        detail = (f"Stopped by its owner; the checkpoint of step {step} can be downloaded." if step is not None
                  else "Stopped by its owner before a checkpoint was saved.")
    else:
        detail = task.error_message or "The training run failed."
    registry.update_model(session, run.model_id, status="Failed", status_detail=detail, files=files)


def _record_import(session: Session, task: Task, imported: dict[str, Any]) -> str:
    """The imported split becomes a dataset version of its owner (origin hub_import), analysed next (with the
    worker's settings, which it reads from its environment like every process of the engine)."""
    dataset = Dataset(id=imported["dataset_id"], owner_id=task.owner_id, filename=imported["filename"],
                      stored_name=imported["stored_name"], size_bytes=imported["bytes"], sha256=imported["sha256"],
                      origin="hub_import", options={}, created_at=utc_now(), updated_at=utc_now(),
                      origin_detail={key: imported.get(key) for key in ("repo_id", "revision", "config", "split",
                                                                        "rows", "url")} | {"training_task": task.id})
    session.add(dataset)
    session.flush()
    queue_analysis(session, Settings(), dataset, task)
    return dataset.id


def checkpoint_on_disk(settings: Settings, task: Task) -> tuple[int, Path] | None:
    """The newest complete checkpoint the run left (a killed run included), as (step, folder)."""
    from backend.services.tasks.worker_context import task_dir

    return latest_checkpoint(task_dir(settings, task.id) / str(task.attempt) / "checkpoints")
