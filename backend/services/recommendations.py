"""POST /recommend: rank the catalogue for an analysed dataset, and note the choice in the user's job."""

from __future__ import annotations

from backend.auth import User
from backend.core.catalog import load_catalog
from backend.core.recommend import RecommendationResult, RecommendRequest, recommend_models
from backend.db import repository as repo
from backend.services.datasets import load_report
from backend.services.state import AppState


async def recommend_for_session(state: AppState, user: User | None, session_id: str,
                                request: RecommendRequest) -> RecommendationResult:
    report = await load_report(state, session_id, user)
    # Pure and fast (a score per catalogue entry): no need to leave the event loop.
    result = recommend_models(report.profile(), request, load_catalog())
    if user is not None:
        best = result.recommendations[0] if result.recommendations else None
        async with state.session() as session:
            await repo.record_job_progress(
                session, user.id, session_id, task_type=str(request.task),
                deployment_target=str(request.deployment_target),
                model_id=best.entry.model_id if best else None, model_score=best.score if best else None,
                status="recommended")
    return result
