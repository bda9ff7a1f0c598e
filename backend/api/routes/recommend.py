"""POST /recommend: rank the catalogue for an analysed dataset, a task, a target and constraints."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import OptionalUserDep, StateDep
from backend.api.schemas.recommend import RecommendCreate, RecommendRead
from backend.services.recommendations import recommend_for_session

router = APIRouter(tags=["recommend"])


@router.post("/recommend", response_model=RecommendRead)
async def recommend(body: RecommendCreate, state: StateDep, user: OptionalUserDep) -> RecommendRead:
    result = await recommend_for_session(state, user, body.session_id, body.to_core())
    return RecommendRead.from_result(result)
