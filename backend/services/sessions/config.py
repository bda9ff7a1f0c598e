"""Seed 001's TrainingConfigParams, and how they become a training run's request.

The seed's fields are kept under their own names. Those that map onto the product's run are used (model,
task_type, batch_size, epochs, learning_rate, seed); the others (eval_metrics, epochs_per_test_run, init_eval,
cache_dir, overwrite_cache) are accepted and kept, and the status says they have no effect here: the product
evaluates on the test file after training, and keeps its model cache itself (a client never names a server
path). `training_config` takes any knob of the notebook's validated config (max_steps, max_seq_length, LoRA).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.notebook import TrainingConfig
from backend.services.runs.service import RunRequest

# seed 001's task types (and the product's own task names) → the product's training task
TASK_TYPES: dict[str, Literal["chat_sft", "text_classification", "seq2seq", "dpo"]] = {
    "chat_sft": "chat_sft", "causal_lm": "chat_sft", "text_generation": "chat_sft", "sft": "chat_sft",
    "text_classification": "text_classification", "classification": "text_classification",
    "seq2seq": "seq2seq", "dpo": "dpo",
}
UNUSED = ("eval_metrics", "epochs_per_test_run", "init_eval", "cache_dir", "overwrite_cache")


class SessionConfig(BaseModel):
    """POST /parameters/{key}: every field optional; what is sent replaces what was set."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, max_length=200, description="a catalogue id or a Hub model id")
    task_type: str | None = Field(None, max_length=40, description=", ".join(TASK_TYPES))
    batch_size: int | None = Field(None, ge=1, le=64)
    epochs: float | None = Field(None, gt=0.0, le=20.0)
    eval_metrics: list[str] | None = Field(None, max_length=20)
    epochs_per_test_run: int | None = Field(None, ge=1, le=100)
    learning_rate: float | None = Field(None, gt=0.0, le=1e-2)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    init_eval: bool | None = None
    cache_dir: str | None = Field(None, max_length=500)
    overwrite_cache: bool | None = None
    training_config: TrainingConfig | None = None
    name: str | None = Field(None, max_length=200, description="the registry name of the trained model")
    compare_prompts: int | None = Field(None, ge=0, le=20, description="held-out prompts answered before/after")
    max_new_tokens: int | None = Field(None, ge=1, le=2048)

    def check_task_type(self) -> None:
        if self.task_type is not None and self.task_type not in TASK_TYPES:
            from backend.core.errors import InvalidInputError

            raise InvalidInputError(f"task_type {self.task_type!r} is not one of {', '.join(TASK_TYPES)}.",
                                    field="task_type")


def merged(current: dict[str, Any], update: SessionConfig) -> dict[str, Any]:
    update.check_task_type()
    sent = update.model_dump(mode="json", exclude_unset=True)
    return {**current, **sent}


def unused_fields(config: dict[str, Any]) -> list[str]:
    return [name for name in UNUSED if config.get(name) is not None]


def run_request(config: dict[str, Any], train_dataset_id: str, test_dataset_id: str | None) -> RunRequest:
    """The product's run for a session's config and files (the test file is the evaluation set)."""
    knobs = dict(config.get("training_config") or {})
    for seed_name, name in (("batch_size", "batch_size"), ("learning_rate", "learning_rate")):
        if config.get(seed_name) is not None:
            knobs[name] = config[seed_name]
    return RunRequest(
        session_id=train_dataset_id, eval_session_id=test_dataset_id, model=config.get("model"),
        task=TASK_TYPES[config.get("task_type") or "chat_sft"], training_config=TrainingConfig(**knobs),
        epochs=config.get("epochs"), seed=config.get("seed"), name=config.get("name"),
        **{key: config[key] for key in ("compare_prompts", "max_new_tokens") if config.get(key) is not None})
