"""What a dataset card tells (the analysis's figures and the version's lineage), as plain JSON-able models.

Kept apart from card.py, which writes the card with the `datasets` library: the server and the payloads need
these models without importing that library (seconds and tens of MB at startup).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.analysis import Report


class Origin(BaseModel):
    """Where a dataset version came from (the lineage the card tells)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["upload", "generated", "hub_import", "fix"] = "upload"
    filename: str | None = None  # the uploaded file's name
    provider: str | None = None  # generation: the provider (e.g. "openai", a base_url host)
    model: str | None = None  # generation: the model that wrote the examples
    settings: dict[str, Any] = Field(default_factory=dict)  # generation settings worth telling
    source_repo: str | None = None  # hub_import: repo, and revision/config/split in settings
    fixes: list[dict[str, Any]] = Field(default_factory=list)  # fix: {action, description, removed, changed}
    parent: str | None = None  # fix: what the version was made from (e.g. the original file's name)


class CardFacts(BaseModel):
    """What the card says about the data: taken from the analysis report and the lineage, JSON-able."""

    model_config = ConfigDict(extra="forbid")

    examples: int
    total_tokens: int
    tokenizer: str
    tokens_exact: bool
    tokens_mean: float
    tokens_median: float
    tokens_p95: float
    tokens_max: float
    languages: dict[str, float]
    quality_score: int
    deductions: list[str]
    issues: list[dict[str, str]]  # {severity, title, advice}
    system_prompt_share: float
    multi_turn_share: float
    tool_call_share: float
    source_format: str
    origin: Origin = Field(default_factory=Origin)


def card_facts(report: Report, origin: Origin | None = None) -> CardFacts:
    tokens = report.distributions.tokens_per_example
    return CardFacts(
        examples=report.total_examples, total_tokens=report.total_tokens, tokenizer=report.tokenizer.name,
        tokens_exact=report.tokenizer.exact, tokens_mean=tokens.mean, tokens_median=tokens.median,
        tokens_p95=tokens.p95, tokens_max=tokens.max, languages=dict(report.languages.shares),
        quality_score=report.quality_score,
        deductions=[f"-{d.points}: {d.reason}" for d in report.quality.deductions],
        issues=[{"severity": i.severity, "title": i.title, "advice": i.advice}
                for i in report.issues if i.severity in ("error", "warning")],
        system_prompt_share=report.system_prompt_share, multi_turn_share=report.multi_turn_share,
        tool_call_share=report.tool_call_share, source_format=report.file.format, origin=origin or Origin())
