"""Pushing a registry model to a Hub model repo with a model card: a task of kind "model_push" (queue "hub").

    task = await start_push(state, user, client, model, repo="you/bot", private=True, files=None, ...)
    run_model_push(ctx, payload, settings) -> {repo_id, url, commit, files}          # the body, in a worker

The repo is created when it does not exist (private by default) and ONE commit carries the model's files and
its README (the card: base model, library, licence, tags and the datasets in its metadata; for people: what it
was trained on, the config, the figures, how to load it), so a push that fails leaves no partial commit. The
Hub token comes with the request (X-HuggingFace-Key) or the user's saved one, as the task's secret.
"""

from __future__ import annotations

from typing import Any, Literal

from huggingface_hub import CommitOperationAdd
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.auth import User
from backend.core.catalog import load_catalog
from backend.core.errors import ConflictError, NotFoundError, UnauthorizedError
from backend.db import training as repo
from backend.db.models import Dataset, RegisteredModel, Task
from backend.services.hub.client import TOKEN_HINT, check_repo_id, hub_errors, open_api
from backend.services.hub.payloads import require_token, validate
from backend.services.registry.card import CardFacts, render_model_card
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.tasks.context import TaskContext
from backend.settings import Settings

Files = Literal["adapter", "merged", "model"]


class PushModelPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str
    repo: str
    private: bool = True
    files: Files
    folder: str = Field(description="the files to push, relative to DATA_DIR")
    card: CardFacts


async def start_push(state: AppState, user: User, client: str, model: RegisteredModel, *, repo: str, private: bool,
                     files: Files | None, license: str | None, token: str | None) -> Task:
    if model.status != "Ready":
        raise ConflictError(f"The model is {model.status}; only a Ready model can be pushed.", code="model_not_ready",
                            status=model.status)
    if not token:
        raise UnauthorizedError(f"A Hugging Face token with write access is needed to push a model. {TOKEN_HINT}.",
                                code="hub_token_missing")
    chosen = files or next((name for name in ("adapter", "model", "merged") if name in (model.files or {})), None)
    folder = (model.files or {}).get(chosen) if chosen else None
    if chosen is None or folder is None or not (state.settings.data_dir / folder).is_dir():
        raise NotFoundError(f"The model has no {chosen or 'files'} to push (it may have been deleted).",
                            code="output_not_found")
    async with state.session() as session:
        dataset = await session.get(Dataset, model.dataset_id) if model.dataset_id else None
    facts = card_facts(model, dataset, chosen, license)
    payload = PushModelPayload(model_id=model.id, repo=check_repo_id(repo), private=private, files=chosen,
                               folder=folder, card=facts)
    return await engine.submit(state, "model_push", user, client, payload.model_dump(mode="json"),
                               secrets={"hf_token": token}, status="Queued for the Hub")


def card_facts(model: RegisteredModel, dataset: Dataset | None, files: str, license: str | None) -> CardFacts:
    catalog = load_catalog()
    entry = next((e for e in catalog if model.base_model in (e.model_id, e.hf_id)), None)
    origin = dataset.origin_detail or {} if dataset is not None else {}
    return CardFacts(
        name=model.name, model_type=model.model_type, task=model.task, files=files,
        base_model=entry.hf_id if entry else model.base_model, license=license or (entry.license if entry else None),
        dataset_name=dataset.filename if dataset else None, dataset_origin=dataset.origin if dataset else None,
        hub_dataset=origin.get("repo_id") if dataset is not None and dataset.origin == "hub_import" else None,
        config=model.config or {}, metrics=model.metrics or {}, num_classes=model.num_classes)


def run_model_push(ctx: TaskContext, payload: dict[str, Any], settings: Settings) -> dict[str, Any]:
    from backend.services.hub.push import full_repo_id  # in the worker only: it brings datasets and pyarrow

    request = validate(PushModelPayload, payload)
    token = require_token(ctx, "push a model to the Hub")
    folder = ctx.path(request.folder)
    api = open_api(settings.hf_endpoint, token)
    with hub_errors(request.repo, token_given=True, action="push to"):
        repo_id = full_repo_id(api, request.repo)
        ctx.status(f"Creating {repo_id} on the Hub (when it does not exist)")
        api.create_repo(repo_id, repo_type="model", private=request.private, exist_ok=True)
        operations = [CommitOperationAdd(path.relative_to(folder).as_posix(), str(path))
                      for path in sorted(folder.rglob("*")) if path.is_file()]
        operations.append(CommitOperationAdd("README.md", render_model_card(request.card, repo_id).encode()))
        ctx.checkpoint()
        ctx.status(f"Uploading {len(operations) - 1} files and the model card to {repo_id} (one commit)")
        commit = api.create_commit(repo_id, operations, repo_type="model",
                                   commit_message=f"Upload {request.card.name} ({request.files}) with SLMGen")
    url = f"{settings.hf_endpoint.rstrip('/')}/{repo_id}"
    ctx.artifact("hub_repo", {"repo_id": repo_id, "commit": commit.oid, "url": url})
    return {"repo_id": repo_id, "url": url, "commit": commit.oid, "files": len(operations) - 1,
            "pushed": request.files, "model_name": request.model_id}


def on_push_done(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    repo.update_model(session, output["model_name"], hub_repo=output["url"])
    return output
