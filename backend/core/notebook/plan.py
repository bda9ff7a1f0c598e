"""The notebook plan: every decision the notebook embodies, made once, before any rendering."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from backend.core.conversation import DatasetProfile
from backend.core.notebook.config import ResolvedConfig, TrainingConfig, resolve_config
from backend.core.notebook.model import ModelChoice, ModelEntryLike, choose_model
from backend.core.notebook.payload import (
    EMBED_LIMIT_BYTES,
    DataSource,
    DataStats,
    EmbeddedData,
    prepare_data,
)
from backend.core.split import eval_positions


@dataclass(frozen=True, slots=True)
class NotebookPlan:
    model: ModelChoice
    config: ResolvedConfig
    source: DataSource
    stats: DataStats
    embedded: EmbeddedData | None  # set exactly when source.kind == "embedded"
    dataset_name: str
    profile: DatasetProfile | None = None
    reasons: tuple[str, ...] = ()  # why this model (from the recommender), shown in the summary

    @property
    def notebook_filename(self) -> str:
        # a model id has no file extension to drop: "qwen2.5-7b-instruct" keeps its size
        return f"slmgen_{safe_stem(self.model.model_id, has_extension=False)}_{safe_stem(self.dataset_name)}.ipynb"


def safe_stem(text: str, *, has_extension: bool = True) -> str:
    """A file-name-safe version of a name, at most 60 characters and 60 bytes in UTF-8.

    >>> safe_stem("My data (v2).jsonl")
    'My_data_v2'
    >>> safe_stem("qwen2.5-7b-instruct", has_extension=False)
    'qwen2.5-7b-instruct'
    >>> len(safe_stem("\U0001d400" * 70).encode())
    60
    """
    stem = text.rsplit(".", 1)[0] if has_extension and "." in text else text
    allowed = "-_" if has_extension else "-_."
    cleaned = "".join(c if c.isalnum() or c in allowed else "_" for c in stem)
    short = "_".join(part for part in cleaned.split("_") if part)[:60]
    # File systems limit names in bytes (255), and a letter can take four.
    short = short.encode()[:60].decode("utf-8", "ignore")
    return short or "dataset"


def plan_notebook(
    model: ModelEntryLike,
    examples: Iterable[dict[str, Any]],
    profile: DatasetProfile | None,
    config: TrainingConfig,
    data_source: DataSource | None = None,
    *,
    dataset_name: str = "dataset.jsonl",
    reasons: Iterable[str] = (),
    embed_limit_bytes: int = EMBED_LIMIT_BYTES,
    record_numbers: Sequence[int] | None = None,
    example_groups: Sequence[int] | None = None,
) -> NotebookPlan:
    """Check the examples, resolve the config against the model's defaults and fix the data source.

    `examples` are canonical conversations (`Conversation.to_json()` dicts). With an embedded
    source they are compressed into the plan; with a URL or Hub source they are only checked and
    counted, and the notebook reads the same canonical JSONL from there. `example_groups` (one related-set
    id per example, backend.core.related) makes the eval split leak-free: chosen here, embedded with the data.
    """
    source = data_source or DataSource()
    choice = choose_model(model)
    resolved = resolve_config(config, model.defaults, context_length=choice.context_length)
    held_out = None
    if example_groups is not None and source.kind == "embedded":
        held_out = frozenset(eval_positions(example_groups, resolved.eval_share, seed=resolved.seed))
    stats, embedded = prepare_data(
        examples,
        embed=source.kind == "embedded",
        embed_limit_bytes=embed_limit_bytes,
        record_numbers=record_numbers,
        held_out=held_out,
    )
    return NotebookPlan(
        model=choice,
        config=resolved,
        source=source,
        stats=stats,
        embedded=embedded,
        dataset_name=dataset_name,
        profile=profile,
        reasons=tuple(reasons),
    )
