"""Schemas of the generation routes: seed 004's DataGenerationStatus, seed 000's Accepted, providers, estimates.

Request bodies are the generation requests of backend/core/generation/payloads.py (checked there, so a wrong
field is a 422 that names it); these models describe what the routes answer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.api.schemas.tasks import TaskError, TaskProgress


class GenerationStatus(BaseModel):
    """Seed 004's DataGenerationStatus (job_id, state, detailed_status, data), and how far the job is."""

    job_id: str
    state: Literal["QUEUED", "RUNNING", "DONE", "ERROR", "CANCELLED"] = Field(
        description="seed 004's states: a job being stopped is RUNNING until it has stopped")
    detailed_status: list[str] = Field(description="the steps the job went through; on ERROR, last, why")
    data: list[str] | None = Field(description="the inputs generated so far (streamed before DONE)")
    task_state: str = Field(description="the task engine's own state (CANCELLING while a stop is under way)")
    progress: TaskProgress
    usage: dict[str, Any] = Field(description="prompt_tokens, completion_tokens, requests, cost_usd so far")
    error: TaskError | None = None
    dataset_id: str | None = Field(None, description="once DONE: the generated dataset (its analysis session)")
    analysis_task_id: str | None = None


class Accepted(BaseModel):
    """Seed 000's answer to a request that started a task: follow it with GET /track/{task_id}."""

    status: Literal["Accepted"] = "Accepted"
    task_id: str


class ProviderRead(BaseModel):
    name: str
    kind: str = Field(description="openai_compatible | embedded")
    model: str
    label: str
    tiny: bool = Field(description="the embedded SmolLM2-135M: for trying the flow, not for data you train on")
    note: str | None = None
    prompt_price_per_1m: float | None = None
    completion_price_per_1m: float | None = None
    needs_request_key: bool = Field(description="send your key in X-OpenAI-Key: the server has none for it")
    max_concurrency: int
    available: bool
    unavailable_reason: str | None = None


class ProviderList(BaseModel):
    providers: list[ProviderRead]


class EstimateRequest(BaseModel):
    """What POST /data/estimate prices: the same request the start route takes, and its kind."""

    kind: Literal["inputs", "examples", "view", "questions"]
    request: dict[str, Any]
    session_id: str | None = Field(None, description="examples: the dataset to take seeds from")


class EstimateRead(BaseModel):
    batches: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = Field(description="None when the provider has no price in the settings")
    tokenizer: str
    assumptions: str
    provider: dict[str, Any] = Field(description="the provider it was priced for (as GET /data/providers lists)")
