"""Schemas of POST /generate."""

from __future__ import annotations

from typing import Literal

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


class GenerateRead(BaseModel):
    notebook_path: str = Field(description="the notebook's file name")
    colab_url: str | None = Field(description="opens the notebook in Colab; null without a GitHub token")
    download_url: str
    notebook_id: str
    colab_instructions: str | None = Field(description="how to open the downloaded file in Colab, when no link")
    expires_at: str = Field(description="when the download link stops working for anyone but the owner")
    size_bytes: int
    model_id: str
