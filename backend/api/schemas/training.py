"""Schemas of the training routes: runs in the product, seed 000's POST /train, Colab reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.services.runs.service import RunRequest

__all__ = ["ColabReport", "RunStarted", "RunRequest", "TrainAccepted", "TrainRequest"]


class RunStarted(BaseModel):
    task_id: str
    state: str
    model_name: str = Field(description="the registry model the run trains (GET /v0/models/{model_name}/status)")
    queue: str = Field(description="training (a CPU worker) or gpu (a worker with an NVIDIA GPU)")
    run_url: str
    events_url: str


class TrainRequest(BaseModel):
    """Seed 000's POST /train."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(max_length=200, description="a session id (uploaded, generated or fixed data) or a Hub "
                                                      "dataset id owner/name")
    model: str = Field(max_length=200, description="a catalogue id or a Hub model id")
    epochs: float = Field(1.0, gt=0.0, le=20.0)
    save_path: str = Field(max_length=200, description="the name the trained model gets in your registry")
    task: Literal["text_classification", "seq2seq"]
    version: str = Field("main", max_length=200, description="the Hub dataset's revision")


class TrainAccepted(BaseModel):
    task_id: str


class ColabReport(BaseModel):
    """One progress record a notebook sends (the runtime's progress callback: the same shape as in-app runs)."""

    model_config = ConfigDict(extra="ignore")  # a newer notebook may send more; what is known is kept

    step: int = Field(ge=0, le=10_000_000)
    epoch: float | None = Field(None, ge=0)
    loss: float | None = None
    eval_loss: float | None = None
    learning_rate: float | None = Field(None, ge=0)
    tokens_seen: int | None = Field(None, ge=0)
    tokens_per_second: float | None = Field(None, ge=0)
    elapsed_seconds: float | None = Field(None, ge=0)
    cpu_seconds: float | None = Field(None, ge=0)
    eta_seconds: float | None = Field(None, ge=0)
    max_steps: int | None = Field(None, ge=0, le=10_000_000)
