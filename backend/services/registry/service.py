"""The model registry (seed 002): list, create, describe and delete a user's models.

A model is created empty (`POST /v0/models`, status Created), by a training run (Training, then Ready or
Failed when the run ends), or by an import from the Hub. Someone else's model is "not found", like one that
never existed. Deleting a model removes its files (its run's folder); a model whose run is still going is
refused until the run is stopped.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from backend.auth import User
from backend.core.errors import ConflictError, InvalidInputError, NotFoundError
from backend.db import tasks as task_repo
from backend.db import training as repo
from backend.db.models import ACTIVE_TASK_STATES, RegisteredModel
from backend.db.types import utc_now
from backend.services.runs.files import OUTPUTS, remove_files
from backend.services.state import AppState

MAX_NAME = 200


def seed_time(model: RegisteredModel) -> str:
    """Seed 002's `last_updated_time`: "2022-06-10 17:52:35.816190" (UTC)."""
    return model.updated_at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def model_params(model: RegisteredModel) -> dict[str, Any]:
    return {"num_classes": model.num_classes} if model.num_classes is not None else {}


def model_view(model: RegisteredModel) -> dict[str, Any]:
    """Seed 002's shape (status, model_name, model_type, model_params, user_name, last_updated_time), then what
    the product adds: why a status is what it is, lineage, figures, and which files can be downloaded."""
    downloads = [name for name in OUTPUTS if name in (model.files or {})]
    return {
        "status": model.status,
        "model_name": model.id,
        "model_type": model.model_type,
        "model_params": model_params(model),
        "user_name": model.name,
        "last_updated_time": seed_time(model),
        "status_detail": model.status_detail,
        "source": model.source,
        "task": model.task,
        "base_model": model.base_model,
        "lineage": {"dataset_id": model.dataset_id, "analysis_task_id": model.analysis_task_id,
                    "training_task_id": model.training_task_id, "base_model": model.base_model,
                    "config": model.config},
        "metrics": model.metrics or {},
        "downloads": downloads,
        "hub_repo": model.hub_repo,
        "created_at": model.created_at.isoformat(),
    }


def check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable():
        raise InvalidInputError(f"A model's name is 1 to {MAX_NAME} printable characters.", field="name")
    return cleaned


def check_type(model_type: str, num_classes: int | None) -> None:
    if model_type == "classifier" and (num_classes is None or num_classes < 2):
        raise InvalidInputError("A classifier needs model_params.num_classes, at least 2.",
                                field="model_params.num_classes")
    if model_type == "generator" and num_classes is not None:
        raise InvalidInputError("A generator has no classes: leave model_params.num_classes out.",
                                field="model_params.num_classes")


def new_model(owner_id: str, name: str, model_type: str, num_classes: int | None, *, source: str,
              status: str = "Created", **values: Any) -> RegisteredModel:
    now = utc_now()
    return RegisteredModel(id=repo.new_model_id(), owner_id=owner_id, name=check_name(name), model_type=model_type,
                           num_classes=num_classes, status=status, source=source, files={}, created_at=now,
                           updated_at=now, **values)


async def create_model(state: AppState, user: User, model_type: str, name: str,
                       num_classes: int | None) -> RegisteredModel:
    check_type(model_type, num_classes)
    model = new_model(user.id, name, model_type, num_classes, source="created")
    async with state.session() as session:
        await session.run_sync(repo.add_model, model)
    return model


async def list_models(state: AppState, user: User, *, limit: int, offset: int) -> tuple[list[RegisteredModel], int]:
    async with state.session() as session:
        return await session.run_sync(lambda s: repo.list_models(s, user.id, limit=limit, offset=offset))


def unknown_model(model_id: str) -> NotFoundError:
    return NotFoundError(f"No model {model_id!r} in your registry (GET /v0/models lists yours).",
                         code="model_not_found")


async def get_model(state: AppState, user: User, model_id: str) -> RegisteredModel:
    if not model_id or len(model_id) > 64:
        raise unknown_model(model_id)
    async with state.session() as session:
        model = await session.run_sync(repo.get_model, model_id)
    if model is None or model.owner_id != user.id:
        raise unknown_model(model_id)
    return model


async def delete_model(state: AppState, user: User, model_id: str) -> RegisteredModel:
    """Remove the model and its files; refused (409) while a run or import is still making it."""
    model = await get_model(state, user, model_id)
    async with state.session() as session:
        task_id = model.training_task_id
        task = await session.run_sync(task_repo.get_task, task_id) if task_id else None
        if task is not None and task.state in ACTIVE_TASK_STATES:
            raise ConflictError(f"The model is still being made by task {task.id} ({task.state}); stop it first with "
                                f"DELETE /tasks/{task.id}, then delete the model.", code="model_in_training",
                                task_id=task.id)
        await session.run_sync(repo.delete_model, model.id)
    remove_files(state.settings, model.files or {})  # after the commit: a failed delete keeps them
    return model
