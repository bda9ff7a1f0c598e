"""POST /recommend: rank the catalogue for an analysed dataset, a task, a target and constraints."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import OptionalUserDep, StateDep
from backend.api.schemas.recommend import RecommendCreate, RecommendRead
from backend.core.catalog import load_catalog
from backend.core.recommend import recommend_models
from backend.services.datasets import load_report

router = APIRouter(tags=["recommend"])


@router.post("/recommend", response_model=RecommendRead)
async def recommend(body: RecommendCreate, state: StateDep, user: OptionalUserDep) -> RecommendRead:
    report = await load_report(state, body.session_id, user)
    # Pure and fast (a score per catalogue entry): no need to leave the event loop.
    result = recommend_models(report.profile(), body.to_core(), load_catalog())
    return RecommendRead.from_result(result)
