"""Importing a model from the Hub into the registry (seed 001's import_model): a task of kind "model_import"
(queue "hub").

    task = await start_import(state, user, client, repo="owner/name", model_type="classifier", revision=None, token)
    run_model_import(ctx, payload, settings) -> {repo_id, revision, files, bytes, num_classes}   # the body
    on_import_done(session, task, output)  the model is registered Ready (source "import") with its folder

The body downloads the repo's model files (weights, config, tokenizer; not other formats' copies) into its own
work directory, so an attempt lost with its worker is simply run again. A classifier's classes are read from its
config (id2label); a generator has none.
"""

from __future__ import annotations

import json
import shutil
from typing import Any, Literal

from huggingface_hub import snapshot_download
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.auth import User
from backend.core.errors import InvalidInputError
from backend.db import training as repo
from backend.db.models import Task
from backend.services.hub.client import check_repo_id, hub_errors
from backend.services.registry.service import new_model
from backend.services.runs.kind import files_of
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.tasks.context import TaskContext
from backend.settings import Settings

# What a model needs to be loaded and trained further; other formats' copies (ONNX, GGUF, TF, Flax) are left out.
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.py", "*.jinja", "*.md"]


class ImportModelPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str = Field(min_length=3, max_length=200)
    revision: str | None = Field(None, max_length=200)
    model_type: Literal["generator", "classifier"]
    name: str = Field(min_length=1, max_length=200)
    training_session: str | None = None  # the seed 001 session that asked for it


async def start_import(state: AppState, user: User, client: str, *, repo: str, model_type: str,
                       revision: str | None, token: str | None, training_session: str | None = None) -> Task:
    repo_id = check_repo_id(repo)
    if "/" not in repo_id:
        raise InvalidInputError(f"Name the Hub model with its owner: owner/{repo_id}.", field="model_name")
    if model_type not in ("generator", "classifier"):
        raise InvalidInputError("model_type is generator or classifier.", field="model_type")
    payload = ImportModelPayload(repo=repo_id, revision=revision, model_type=model_type,
                                 name=repo_id, training_session=training_session)
    return await engine.submit(state, "model_import", user, client, payload.model_dump(mode="json"),
                               secrets={"hf_token": token} if token else None, status="Queued for the Hub")


def run_model_import(ctx: TaskContext, payload: dict[str, Any], settings: Settings) -> dict[str, Any]:
    request = ImportModelPayload.model_validate(payload)
    token = ctx.secret("hf_token")
    target = ctx.work_dir / "model"
    ctx.status(f"Downloading {request.repo} from the Hub")
    with hub_errors(request.repo, token_given=bool(token), action="import"):
        snapshot_download(request.repo, repo_type="model", revision=request.revision, local_dir=target,
                          allow_patterns=MODEL_FILES, endpoint=settings.hf_endpoint.rstrip("/"), token=token or False)
    shutil.rmtree(target / ".cache", ignore_errors=True)  # huggingface_hub's download bookkeeping, not the model
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    if "config.json" not in files:
        raise InvalidInputError(f"{request.repo} has no config.json: it is not a transformers model.",
                                code="not_a_model")
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    num_classes = len(config.get("id2label") or {}) if request.model_type == "classifier" else None
    if request.model_type == "classifier" and (num_classes or 0) < 2:
        raise InvalidInputError(f"{request.repo} names no classes (id2label) in its config: import it as a "
                                "generator, or train a classifier from it.", code="not_a_classifier")
    ctx.artifact("model", {"path": "model"})
    return {"repo_id": request.repo, "revision": request.revision or "main", "files": files,
            "bytes": sum((target / name).stat().st_size for name in files), "num_classes": num_classes,
            "architectures": config.get("architectures"), "has_tokenizer": any(
                name.startswith("tokenizer") for name in files)}


def on_import_done(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    request = ImportModelPayload.model_validate(task.payload)
    model = new_model(task.owner_id or "", request.name, request.model_type, output.get("num_classes"),
                      source="import", status="Ready", base_model=request.repo, metrics={},
                      config={"revision": output["revision"]})
    model.files = files_of(task)
    repo.add_model(session, model)
    if request.training_session:
        row = repo.session_of(session, task.owner_id or "")
        if row is not None and row.id == request.training_session and row.import_task_id == task.id:
            repo.update_training_session(session, row.id, imported_model_id=model.id)
    return {**output, "model_name": model.id}
