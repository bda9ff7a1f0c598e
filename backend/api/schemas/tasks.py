"""Schemas of the task routes: one shape for a task everywhere (GET /tasks/{id}, /track/{id}, the lists)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, RootModel


class TaskProgress(BaseModel):
    done: float
    total: float | None = None
    fraction: float | None = Field(default=None, description="done / total, when the total is known")
    eta_seconds: float | None = None


class TaskError(BaseModel):
    code: str
    message: str | None = None


class TaskRead(BaseModel):
    task_id: str
    kind: str = Field(description="analysis | generation | hub_push | training | ...")
    state: str = Field(description="QUEUED | RUNNING | CANCELLING | DONE | ERROR | CANCELLED")
    attempt: int
    max_attempts: int
    progress: TaskProgress
    detailed_status: list[str]
    metrics: dict[str, Any]
    usage: dict[str, Any]
    artifacts: dict[str, Any]
    result: dict[str, Any] | None = None
    error: TaskError | None = None
    dataset_id: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str


class TaskList(RootModel[list[TaskRead]]):
    pass


class TrackRead(BaseModel):
    """Seed 000's `GET /track/{task_id}`: the task under `response`."""

    response: TaskRead
