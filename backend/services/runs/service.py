"""Starting and reading training runs (server side): every run is a task of kind "training" whose model is a
registry row, Training from the moment the run is admitted.

    started = await start_run(state, user, client, RunRequest(...), hub_token)   # → task, model
    task, model = await get_run(state, user, task_id)                             # 404 for someone else's

What can be checked before anything is stored is checked here, so a bad request is a 4xx and no task exists:
the dataset (an analysed version of the caller's, or a Hub dataset id), the base model and its size (which
decides the queue: a GPU-sized run is refused while no GPU worker is connected), the training packages when the
workers run beside the server, the task against the data (preference pairs only with DPO), and the registry
model a run may train into.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.auth import User
from backend.core.analysis.store import iter_canonical
from backend.core.errors import ConflictError, InvalidInputError, NotFoundError
from backend.core.notebook import TrainingConfig
from backend.db import tasks as task_repo
from backend.db import training as repo
from backend.db.models import RegisteredModel, Task
from backend.services import datasets as data_svc
from backend.services.hub.client import check_repo_id
from backend.services.registry.service import check_type, get_model, new_model
from backend.services.runs.kind import missing_training_packages, training_unavailable
from backend.services.runs.payload import HubDataset, Lineage, RunPayload
from backend.services.runs.placement import choose_base, gpu_instead, place, size_of
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.training.data import kind_of, refuse_wrong_kind
from backend.services.training.payload import Task as TrainingTask
from backend.services.training.payload import TrainingLimits

PRECHECK_EXAMPLES = 1000  # examples read to check the task against the data before the run is queued


class HubDatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str = Field(max_length=200, description="owner/name of a Hub dataset")
    revision: str | None = Field(None, max_length=200, description="branch, tag or commit (default: main)")
    split: str = Field("train", max_length=100)
    config: str | None = Field(None, max_length=200)


class RunRequest(BaseModel):
    """What starting a run takes: the data, the base model, the task and the training config the notebook uses."""

    model_config = ConfigDict(extra="forbid")

    session_id: str | None = Field(None, max_length=64, description="an analysed dataset version of yours")
    hub_dataset: HubDatasetIn | None = Field(None, description="instead of session_id: imported first")
    eval_session_id: str | None = Field(None, max_length=64, description="a separate evaluation set")
    model: str | None = Field(None, max_length=200, description="catalogue id or Hub id; none: a packaged model")
    catalogue_model: str | None = Field(None, max_length=100, description="the catalogue facts for a Hub id")
    task: TrainingTask = "chat_sft"
    training_config: TrainingConfig = TrainingConfig()
    epochs: float | None = Field(None, gt=0.0, le=20.0)
    eval_split: float | None = Field(None, ge=0.0, le=0.5)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    merge: bool = False
    num_labels: int | None = Field(None, ge=2, le=1000)
    max_examples: int | None = Field(None, ge=1)
    checkpoint_steps: int | None = Field(None, ge=1, description="also keep a checkpoint every N steps")
    compare_prompts: int = Field(3, ge=0, le=20, description="held-out prompts answered before and after training")
    max_new_tokens: int = Field(64, ge=1, le=2048, description="the length of each of those answers")
    name: str | None = Field(None, max_length=200, description="the registry name of the model it makes")
    model_name: str | None = Field(None, max_length=64, description="a registry model (Created) to train instead")

    @model_validator(mode="after")
    def one_source(self) -> RunRequest:
        if (self.session_id is None) == (self.hub_dataset is None):
            raise ValueError("give exactly one of session_id (an analysed dataset) or hub_dataset")
        return self


@dataclass(frozen=True)
class StartedRun:
    task: Task
    model: RegisteredModel


@dataclass(frozen=True)
class DataSource:
    dataset: str | None  # the store, relative to DATA_DIR
    hub: HubDataset | None
    label: str
    lineage: Lineage


async def start_run(state: AppState, user: User, client: str, request: RunRequest,
                    hub_token: str | None) -> StartedRun:
    source = await _data_source(state, user, request)
    eval_store = await _eval_store(state, user, request.eval_session_id)
    choice = choose_base(request.model, request.catalogue_model, request.task)
    placement = place(await size_of(choice, state.settings, hub_token), state.settings)
    if placement.queue == "gpu":
        await engine.require_worker(state, "gpu", "training runs of GPU-sized models", gpu_instead(state.settings))
    if state.settings.embedded_workers and (missing := missing_training_packages()):
        raise training_unavailable(missing)  # the embedded workers run this very installation
    model_type = "classifier" if request.task == "text_classification" else "generator"
    target = await _target_model(state, user, request, model_type)
    num_labels = request.num_labels or (target.num_classes if target else None)
    payload = RunPayload(
        model_id=target.id if target else repo.new_model_id(), dataset=source.dataset,
        eval_dataset=eval_store, hub_dataset=source.hub, base_model=choice.base_model,
        catalogue_model=choice.catalogue_model, task=request.task, config=request.training_config,
        epochs=request.epochs, eval_split=request.eval_split, seed=request.seed, merge=request.merge,
        num_labels=num_labels, placement=placement, lineage=source.lineage,
        limits=TrainingLimits(max_examples=request.max_examples, checkpoint_steps=request.checkpoint_steps,
                              compare_prompts=request.compare_prompts, max_new_tokens=request.max_new_tokens))
    task = await engine.admit(state, "training", user, client, payload.model_dump(mode="json"),
                              secrets={"hf_token": hub_token} if hub_token else None,
                              dataset_id=source.lineage.dataset_id, status="Queued for training",
                              task_id=task_repo.new_task_id())
    try:
        model = await _mark_training(state, user, payload, task, request, choice.label, source.label, model_type)
    except BaseException:
        await engine.release(state, task.id)
        raise
    await engine.hand_over(state, task)
    return StartedRun(task, model)


async def _data_source(state: AppState, user: User, request: RunRequest) -> DataSource:
    if request.hub_dataset is not None:
        hub = request.hub_dataset
        repo_id = check_repo_id(hub.repo)
        if "/" not in repo_id:
            raise InvalidInputError(f"Name the Hub dataset with its owner: owner/{repo_id}.", field="hub_dataset.repo")
        imported = HubDataset(repo=repo_id, revision=hub.revision, split=hub.split, config=hub.config,
                              dataset_id=data_svc.new_session_id())
        return DataSource(None, imported, repo_id, Lineage())
    assert request.session_id is not None
    dataset = await data_svc.get_dataset_for(state, request.session_id, user)
    await data_svc.finished_report(state, dataset)  # 409 while it is being analysed, the failure if it failed
    store = data_svc.store_dir(state, dataset)
    await asyncio.to_thread(check_task_fits, store, request.task)
    relative = str(store.relative_to(state.settings.data_dir))
    return DataSource(relative, None, dataset.filename,
                      Lineage(dataset_id=dataset.id, analysis_task_id=dataset.analysis_task_id))


async def _eval_store(state: AppState, user: User, session_id: str | None) -> str | None:
    if session_id is None:
        return None
    dataset = await data_svc.get_dataset_for(state, session_id, user)
    await data_svc.finished_report(state, dataset)
    return str(data_svc.store_dir(state, dataset).relative_to(state.settings.data_dir))


def check_task_fits(store: Path, task: str) -> None:
    """Refuse preference data for SFT and DPO without pairs now (422), from the first examples of the store."""
    kinds: Counter[str] = Counter()
    for number, example in enumerate(iter_canonical(store)):
        if number >= PRECHECK_EXAMPLES:
            break
        kinds[kind_of(example)] += 1
    refuse_wrong_kind(task, kinds)


async def _target_model(state: AppState, user: User, request: RunRequest,
                        model_type: str) -> RegisteredModel | None:
    """The registry model a run trains into when it names one: yours, Created or Failed, of the task's type."""
    if request.model_name is None:
        return None
    model = await get_model(state, user, request.model_name)
    if model.model_type != model_type:
        raise InvalidInputError(f"The model {model.id} is a {model.model_type}; the task {request.task} makes a "
                                f"{model_type}.", code="model_type_mismatch", field="model_name")
    if request.num_labels is not None and model.num_classes not in (None, request.num_labels):
        raise InvalidInputError(f"The model {model.id} has {model.num_classes} classes, not {request.num_labels}.",
                                code="num_labels_mismatch", field="num_labels")
    if model.status not in ("Created", "Failed"):
        raise ConflictError(f"The model {model.id} is {model.status}: only a Created (or Failed) model can be "
                            "trained. Create a new one with POST /v0/models.", code="model_not_trainable",
                            status=model.status)
    return model


async def _mark_training(state: AppState, user: User, payload: RunPayload, task: Task, request: RunRequest,
                         base_label: str, data_label: str, model_type: str) -> RegisteredModel:
    values: dict[str, Any] = {"task": request.task, "base_model": payload.base_model or base_label,
                              "dataset_id": payload.lineage.dataset_id,
                              "analysis_task_id": payload.lineage.analysis_task_id, "training_task_id": task.id}
    async with state.session() as session:
        if request.model_name is not None:
            model = await session.run_sync(repo.get_model, payload.model_id)
            if model is None or model.status not in ("Created", "Failed"):
                raise ConflictError("The model started training from another request; create a new one.",
                                    code="model_not_trainable")
            updated = await session.run_sync(lambda s: repo.update_model(
                s, payload.model_id, status="Training", status_detail=None, **values))
            assert updated is not None
            return updated
        name = request.name or f"{base_label} on {data_label}"[:200]
        num_classes = payload.num_labels if model_type == "classifier" else None
        if num_classes is not None:
            check_type(model_type, num_classes)
        model = new_model(user.id, name, model_type, num_classes, source="training", status="Training", **values)
        model.id = payload.model_id
        return await session.run_sync(repo.add_model, model)


# --- reading ----------------------------------------------------------------------------------------------------


def unknown_run() -> NotFoundError:
    return NotFoundError("No training run with this id (it may belong to someone else).", code="run_not_found")


async def get_run(state: AppState, user: User, task_id: str) -> tuple[Task, RegisteredModel | None]:
    task = await engine.get_task(state, task_id, user)
    if task.kind != "training" or task.owner_id != user.id:
        raise unknown_run()
    async with state.session() as session:
        model = await session.run_sync(repo.model_for_task, task.id)
    return task, model


async def list_runs(state: AppState, user: User, *, limit: int, offset: int) -> tuple[list[Task], int]:
    return await engine.list_tasks(state, user, kind="training", task_state=None, limit=limit, offset=offset)
