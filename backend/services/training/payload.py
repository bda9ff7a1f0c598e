"""What a training run is asked to do: the task payload, validated at the start of the body.

    {
      "dataset": "<canonical JSONL file, or an analysis store directory>",
      "eval_dataset": "<the same, held out for evaluation>",     # optional: else eval_split of the dataset
      "base_model": "<catalogue id | Hub id | local directory>",   # optional for text_classification
      "catalogue_model": "<catalogue id>",     # optional: the facts (markers, defaults) for a Hub id or a directory
      "task": "chat_sft" | "text_classification" | "seq2seq" | "dpo",
      "config": {<TrainingConfig: lora_rank, learning_rate, batch_size, max_seq_length, ...>},
      "epochs": 1.5, "eval_split": 0.1, "seed": 3407, "merge": false,
      "num_labels": 3,                          # text_classification: checked against the labels found
      "limits": {"max_steps": 4, "max_examples": 12, "compare_prompts": 3, "max_new_tokens": 64,
                 "checkpoint_steps": 50, "checkpoint_seconds": 600},   # how often a checkpoint is kept
      "model_cache_dir": "<where packaged models are unpacked once>"
    }

`epochs`, `eval_split` and `seed` override the config's num_epochs, eval_share and seed; `limits.max_steps`
overrides max_steps. Secrets never travel here: a Hub token comes from ctx.secret("hf_token").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.core.errors import InvalidInputError
from backend.core.notebook import TrainingConfig

Task = Literal["chat_sft", "text_classification", "seq2seq", "dpo"]
TASKS: tuple[str, ...] = ("chat_sft", "text_classification", "seq2seq", "dpo")


class TrainingLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_steps: int | None = Field(None, ge=1, le=100_000)
    max_examples: int | None = Field(None, ge=1)
    compare_prompts: int = Field(3, ge=0, le=20)  # held-out prompts answered before and after training
    max_new_tokens: int = Field(64, ge=1, le=2048)  # per answer
    # A checkpoint is saved every `checkpoint_steps` steps or `checkpoint_seconds` of training, whichever comes
    # first (neither: only when a stop asks for one), so a run whose worker dies keeps its last checkpoint.
    checkpoint_steps: int | None = Field(None, ge=1)
    checkpoint_seconds: float | None = Field(None, gt=0)


class TrainingChoices(BaseModel):
    """What a run trains and how: shared by the trainer's payload and the product's run payload (runs/)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_model: str | None = None
    catalogue_model: str | None = None
    task: Task = "chat_sft"
    config: TrainingConfig = TrainingConfig()
    epochs: float | None = Field(None, gt=0.0, le=20.0)
    eval_split: float | None = Field(None, ge=0.0, le=0.5)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    merge: bool = False
    num_labels: int | None = Field(None, ge=2, le=1000)
    limits: TrainingLimits = TrainingLimits()


class TrainingPayload(TrainingChoices):
    dataset: str = Field(min_length=1)
    eval_dataset: str | None = None  # held-out examples to evaluate on, instead of eval_split of the dataset
    model_cache_dir: str | None = None

    def effective_config(self) -> TrainingConfig:
        """The config with the run-level overrides applied (still unresolved: None = catalogue default)."""
        overrides: dict[str, Any] = {}
        if self.epochs is not None:
            overrides["num_epochs"] = self.epochs
        if self.eval_split is not None:
            overrides["eval_share"] = self.eval_split
        if self.seed is not None:
            overrides["seed"] = self.seed
        if self.limits.max_steps is not None:
            overrides["max_steps"] = self.limits.max_steps
        return self.config.model_copy(update=overrides)

    def cache_dir(self, work_dir: Path) -> Path:
        return Path(self.model_cache_dir) if self.model_cache_dir else work_dir / "base-models"


def parse_payload(payload: dict[str, Any]) -> TrainingPayload:
    """The payload, or an InvalidInputError naming each wrong field (a task ends ERROR with that sentence)."""
    try:
        return TrainingPayload.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'payload'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise InvalidInputError(
            f"The training request is invalid: {problems}.", code="invalid_training_request"
        ) from error
