"""GET /models and GET /models/{model_id}: the catalogue, every fact with its source."""

from __future__ import annotations

from fastapi import APIRouter

from backend.core.catalog import ModelEntry, load_catalog

router = APIRouter(tags=["models"])


@router.get("/models", response_model=list[ModelEntry])
async def list_models() -> list[ModelEntry]:
    return list(load_catalog())


@router.get("/models/{model_id:path}", response_model=ModelEntry)
async def get_model(model_id: str) -> ModelEntry:
    # `:path` so a Hub id such as "Qwen/Qwen2.5-1.5B-Instruct" works as well as the slug.
    return load_catalog().get(model_id)
