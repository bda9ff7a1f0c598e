"""Schemas of POST /generate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.notebook import TrainingConfig


class DataSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["embedded", "url", "hub"] = "embedded"
    location: str | None = Field(None, max_length=2000, description="https URL of a JSONL(.gz) or owner/name")
    split: str = Field("train", max_length=100)


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(max_length=64)
    model_id: str = Field(max_length=100)
    training_config: TrainingConfig = TrainingConfig()
    data_source: DataSourceIn = DataSourceIn()
    github_token: str | None = Field(None, max_length=400, description="your own token, for a secret gist")
    # training (issue 13): opt-in Colab report-back (signed in): the notebook sends its loss to this server
    report_progress: bool = Field(False, description="the notebook reports its training to your monitor")


class LeftOutExample(BaseModel):
    index: int = Field(description="record number in the uploaded file")
    reason: str


class GenerateRead(BaseModel):
    notebook_path: str = Field(description="the notebook's file name")
    colab_url: str | None = Field(description="opens the notebook in Colab; null without a GitHub token")
    download_url: str
    notebook_id: str
    colab_instructions: str | None = Field(description="how to open the downloaded file in Colab, when no link")
    expires_at: str = Field(description="when the download link stops working for anyone but the owner")
    size_bytes: int
    model_id: str
    examples_included: int = Field(description="examples the notebook trains on")
    examples_left_out: int = Field(description="usable examples the notebook could not train on")
    left_out: list[LeftOutExample] = Field(description="the first left-out examples and why")
    records_total: int = Field(description="records in the uploaded file")
    records_unusable: int = Field(description="records the analysis could not use; they are not in the notebook")
    # training (issue 13): the Colab run the notebook reports to (GET /tasks?kind=colab_training once it has)
    report_run_id: str | None = Field(None, description="the Colab run this notebook reports to, when opted in")


def training_limits() -> dict[str, dict[str, Any]]:
    """Each training setting's type and bounds, from TrainingConfig itself, so the page checks as you type
    exactly what the server will check (GET /config carries them)."""
    limits: dict[str, dict[str, Any]] = {}
    for name, prop in TrainingConfig.model_json_schema()["properties"].items():
        kinds = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        if not kinds:
            continue
        spec = kinds[0]
        limits[name] = {key: spec[key] for key in ("type", "minimum", "maximum", "exclusiveMinimum") if key in spec}
    limits["max_steps"]["forbidden"] = [0]  # TrainingConfig.check_max_steps: 0 would train nothing
    return limits
