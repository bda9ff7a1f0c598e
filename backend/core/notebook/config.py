"""Training configuration: what a user may set, its bounds, and the catalogue's defaults.

`TrainingConfig` is what the API and the CLI accept (every field optional, so a request can set
only what it cares about; an out-of-range value fails validation naming the field). Resolving it
against a model's catalogue defaults gives `ResolvedConfig`, the complete set of knobs the
notebook's parameters cell holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Used only when a catalogue entry lacks a default; values from Unsloth's LoRA guide.
FALLBACK_DEFAULTS: dict[str, Any] = {
    "lora_rank": 16,
    "lora_alpha": 16,
    "learning_rate": 2e-4,
    "num_epochs": 3,
    "batch_size": 2,
    "grad_accum": 4,
    "max_seq_length": 2048,
}


class TrainingConfig(BaseModel):
    """The knobs a user may set; None means "the model's catalogue default"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lora_rank: int | None = Field(None, ge=1, le=256)
    lora_alpha: int | None = Field(None, ge=1, le=512)
    lora_dropout: float | None = Field(None, ge=0.0, le=0.5)
    learning_rate: float | None = Field(None, gt=0.0, le=1e-2)
    num_epochs: float | None = Field(None, gt=0.0, le=20.0)
    max_steps: int | None = Field(None, ge=-1, le=100_000)
    batch_size: int | None = Field(None, ge=1, le=64)
    grad_accum: int | None = Field(None, ge=1, le=64)
    warmup_steps: int | None = Field(None, ge=0, le=10_000)
    max_seq_length: int | None = Field(None, ge=128, le=131_072)
    eval_share: float | None = Field(None, ge=0.0, le=0.5)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)

    @field_validator("max_steps")
    @classmethod
    def check_max_steps(cls, value: int | None) -> int | None:
        # -1 is the transformers convention for "train for num_epochs"; 0 would train nothing.
        if value == 0:
            raise ValueError("max_steps must be -1 (use num_epochs) or between 1 and 100000")
        return value


@dataclass(frozen=True, slots=True)
class ResolvedConfig:
    lora_rank: int
    lora_alpha: int
    lora_dropout: float
    learning_rate: float
    num_epochs: float
    max_steps: int
    batch_size: int
    grad_accum: int
    warmup_steps: int
    max_seq_length: int
    eval_share: float
    seed: int


def read_default(defaults: object, name: str) -> Any:
    """A catalogue default by name, whether the entry keeps them as a mapping or as attributes."""
    value = defaults.get(name) if isinstance(defaults, Mapping) else getattr(defaults, name, None)
    return FALLBACK_DEFAULTS[name] if value is None else value


def resolve_config(config: TrainingConfig, defaults: object, *, context_length: int | None) -> ResolvedConfig:
    """Fill unset fields from the model's defaults, re-checking the result against the same bounds.

    The max sequence length is capped at the model's context length: training beyond it is
    silently wrong on some models and a crash on others.
    """
    chosen = config.model_dump()
    merged: dict[str, Any] = {}
    for name in (
        "lora_rank",
        "lora_alpha",
        "learning_rate",
        "num_epochs",
        "batch_size",
        "grad_accum",
        "max_seq_length",
    ):
        merged[name] = chosen[name] if chosen[name] is not None else read_default(defaults, name)
    if context_length:
        merged["max_seq_length"] = min(int(merged["max_seq_length"]), int(context_length))
    merged["lora_dropout"] = chosen["lora_dropout"] if chosen["lora_dropout"] is not None else 0.0
    merged["max_steps"] = chosen["max_steps"] if chosen["max_steps"] is not None else -1
    merged["warmup_steps"] = chosen["warmup_steps"] if chosen["warmup_steps"] is not None else 5
    merged["eval_share"] = chosen["eval_share"] if chosen["eval_share"] is not None else 0.1
    merged["seed"] = chosen["seed"] if chosen["seed"] is not None else 3407
    checked = TrainingConfig.model_validate(merged)  # catalogue defaults obey the same bounds
    return ResolvedConfig(**{name: value for name, value in checked.model_dump().items()})
