"""The payload of a task of kind "training" (what the engine stores and the worker runs), and where it goes.

    {
      "model_id": "<the registry row the run trains>",
      "dataset": "tasks/<analysis task>/<attempt>",        # an analysed dataset version's store, relative to DATA_DIR
      "eval_dataset": "tasks/…/…",                          # optional: a separate evaluation set
      "hub_dataset": {"repo": "owner/name", "revision": "main", "split": "train", "config": null,
                      "dataset_id": "<id the imported rows become>"},   # instead of dataset: imported first
      "base_model": "<catalogue id | Hub id>",              # None: a packaged model (SmolLM2-135M / MiniLM)
      "catalogue_model": null, "task": "chat_sft", "config": {...}, "epochs": 1.5, "eval_split": 0.1, "seed": 3407,
      "merge": false, "num_labels": null, "limits": {...},
      "placement": {"queue": "training" | "gpu", "params_b": 0.135, "reason": "…"},
      "lineage": {"dataset_id": "…", "analysis_task_id": "…", "eval_dataset_id": null}
    }

Paths are relative to DATA_DIR (workers on other machines mount it elsewhere); secrets (the Hub token) travel
as the task's secret `hf_token`, never here. The route decides the placement with the server's settings and
writes it down, so `route(payload)` only reads it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.services.hub.payloads import DatasetId, validate
from backend.services.training.payload import TrainingChoices

Queue = Literal["training", "gpu"]


class HubDataset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: str = Field(min_length=3, max_length=200)
    revision: str | None = Field(None, max_length=200)
    split: str = Field("train", max_length=100)
    config: str | None = Field(None, max_length=200)
    dataset_id: DatasetId


class Placement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: Queue
    params_b: float | None  # the base model's size in billions, when known
    reason: str  # said in the run's status: why this queue


class Lineage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset_id: str | None = None
    analysis_task_id: str | None = None
    eval_dataset_id: str | None = None


class RunPayload(TrainingChoices):
    model_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    dataset: str | None = None
    eval_dataset: str | None = None
    hub_dataset: HubDataset | None = None
    placement: Placement
    lineage: Lineage = Lineage()

    @model_validator(mode="after")
    def one_source(self) -> RunPayload:
        if (self.dataset is None) == (self.hub_dataset is None):
            raise ValueError("a run trains on exactly one of dataset (an analysed version) or hub_dataset")
        return self

    def training_payload(self, dataset: str, eval_dataset: str | None, model_cache_dir: str,
                         checkpoint_seconds: float) -> dict[str, Any]:
        """The trainer's own payload (backend.services.training.payload), with paths as this machine sees them."""
        limits = self.limits
        if limits.checkpoint_steps is None and limits.checkpoint_seconds is None:
            limits = limits.model_copy(update={"checkpoint_seconds": checkpoint_seconds})
        choices = self.model_dump(include=set(TrainingChoices.model_fields))
        return {**choices, "limits": limits.model_dump(), "dataset": dataset, "eval_dataset": eval_dataset,
                "model_cache_dir": model_cache_dir}


def parse_run(payload: dict[str, Any]) -> RunPayload:
    return validate(RunPayload, payload)


def route(payload: dict[str, Any]) -> str:
    """The kind's router: the queue the server chose when it admitted the run (GPU-sized models → "gpu")."""
    return str(parse_run(payload).placement.queue)
