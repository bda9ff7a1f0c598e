"""Colab runs that report back: POST /training/colab (a signed-in user opens a run and gets its REPORT_URL and
REPORT_TOKEN, shown once) and POST /training/colab/{run_id}/report (the notebook posts each progress record
with `Authorization: Bearer <that token>`; a wrong token is a 401 and never reaches another run). The run then
shows as a task of kind colab_training: GET /tasks/{id}, its events and GET /tasks/{id}/metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from backend.api.deps import CurrentUserDep, StateDep
from backend.api.schemas.training import ColabReport
from backend.services import datasets as data_svc
from backend.services.colab import service

router = APIRouter(tags=["training"])


class ColabOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=100, description="the catalogue model the notebook trains")
    session_id: str | None = Field(None, max_length=64, description="the dataset the notebook was made from")


@router.post("/training/colab")
async def open_colab_run(body: ColabOpen, request: Request, state: StateDep, user: CurrentUserDep) -> dict[str, Any]:
    """A Colab run of yours: the notebook's REPORT_URL and REPORT_TOKEN (the token is shown only now)."""
    dataset_id = None
    if body.session_id is not None:
        dataset_id = (await data_svc.get_dataset_for(state, body.session_id, user)).id
    run, token = await service.open_run(state, user, body.model, dataset_id)
    path = f"/training/colab/{run.id}/report"
    return {"run_id": run.id, "report_url": str(request.base_url).rstrip("/") + path, "report_path": path,
            "report_token": token}


@router.post("/training/colab/{run_id}/report")
async def colab_report(run_id: str, body: ColabReport, request: Request, state: StateDep) -> dict[str, Any]:
    """One progress record from the notebook (the runtime's record: step, loss, eval_loss, learning rate...)."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    task, stop = await service.report(state, run_id, token.strip() if scheme.lower() == "bearer" else None,
                                      body.model_dump(exclude_none=True))
    return {"task_id": task.id, "state": task.state, "stop": stop}
