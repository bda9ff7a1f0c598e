"""The model registry, seed 002's contract: GET|POST /v0/models, GET /v0/models/{model_name}/status,
DELETE /v0/models/{model_name}/delete (removes its files); and pushing a model to a Hub model repo.

Authentication is the product's (a signed-in user's bearer token, where seed 002 sends its API key); every
model belongs to its user, and someone else's is a 404."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.api.deps import ClientKeyDep, CurrentUserDep, StateDep
from backend.api.routes.jobs import page_links
from backend.services.hub.tokens import resolve_hub_token
from backend.services.registry import service
from backend.services.registry.push import start_push

router = APIRouter(tags=["registry"])


class ModelParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_classes: int | None = Field(None, ge=2, le=1000)


class ModelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_type: Literal["generator", "classifier"]
    name: str = Field(min_length=1, max_length=200)
    model_params: ModelParams = ModelParams()


class ModelPush(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str = Field(max_length=200, description="owner/name (or a bare name: the token's own namespace)")
    private: bool = True
    files: Literal["adapter", "merged", "model"] | None = Field(None, description="default: the model's main output")
    license: str | None = Field(None, max_length=100, description="default: the base model's licence")


@router.get("/v0/models")
async def list_models(request: Request, response: Response, state: StateDep, user: CurrentUserDep,
                      limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """Your models, most recently changed first (paging: X-Total-Count and Link headers)."""
    models, total = await service.list_models(state, user, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    response.headers["Link"] = page_links(request, limit, offset, total)
    return {"models": [service.model_view(model) for model in models]}


@router.post("/v0/models", status_code=200)
async def create_model(body: ModelCreate, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    """An empty model (status Created), to be trained by a run that names it (`model_name`)."""
    model = await service.create_model(state, user, body.model_type, body.name, body.model_params.num_classes)
    return service.model_view(model)


@router.get("/v0/models/{model_name}/status")
async def model_status(model_name: str, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    return service.model_view(await service.get_model(state, user, model_name))


@router.delete("/v0/models/{model_name}/delete")
async def delete_model(model_name: str, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    """The model as it was, once it and its files are gone (409 while a run is still making it)."""
    model = await service.delete_model(state, user, model_name)
    return {**service.model_view(model), "deleted": True}


@router.post("/v0/models/{model_name}/push", status_code=202)
async def push_model(model_name: str, body: ModelPush, state: StateDep, user: CurrentUserDep, client: ClientKeyDep,
                     x_huggingface_key: str | None = Header(None)) -> dict[str, Any]:
    """Push a Ready model's files to a Hub model repo, with a model card (a task: GET /tasks/{task_id})."""
    model = await service.get_model(state, user, model_name)
    token = await resolve_hub_token(state, user, x_huggingface_key)
    task = await start_push(state, user, client, model, repo=body.repo, private=body.private, files=body.files,
                            license=body.license, token=token)
    return {"task_id": task.id, "state": task.state, "model_name": model.id}
