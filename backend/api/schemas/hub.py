"""Schemas of the Hub settings routes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HubTokenWrite(BaseModel):
    token: str = Field(min_length=1, max_length=400, description="a Hugging Face access token (hf_...)")


class HubTokenRead(BaseModel):
    saved: bool
    username: str | None = None
    updated_at: str | None = None
