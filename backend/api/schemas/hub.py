"""Schemas of the Hub routes: the saved token, and starting a push, an append or an import."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HubTokenWrite(BaseModel):
    token: str = Field(min_length=1, max_length=400, description="a Hugging Face access token (hf_...)")


class HubTokenRead(BaseModel):
    saved: bool
    username: str | None = None
    updated_at: str | None = None


# --- starting Hub work (POST /datasets/{id}/push, /append, /upload/hub) ---
class PushRequest(BaseModel):
    repo: str = Field(min_length=1, max_length=200, description="owner/name, or a name in the token's namespace")
    split: list[int] | Literal["train", "validation", "test"] = Field(
        default_factory=lambda: [80, 10, 10],
        description="train/validation/test percentages (leak-free), or one split that gets every example")
    private: bool = True
    seed: int = Field(42, ge=0, le=2**31 - 1)
    stratify: bool = Field(False, description="classification data: every split gets each label in proportion")
    license: str = Field("unknown", min_length=1, max_length=60)
    task_category: str = Field("text-generation", min_length=1, max_length=60)


class AppendRequest(BaseModel):
    repo: str = Field(min_length=1, max_length=200)
    split: Literal["train", "validation", "test"] = "train"


class HubImportRequest(BaseModel):
    repo: str = Field(min_length=1, max_length=200, description="owner/name of a Hub dataset")
    config: str | None = Field(None, max_length=200)
    split: str = Field("train", min_length=1, max_length=100)
    revision: str | None = Field(None, max_length=200, description="branch, tag or commit; default main")


class HubTaskStarted(BaseModel):
    task_id: str = Field(description="GET /tasks/{task_id} (or its events) follows it; its result names the repo")
    session_id: str | None = Field(None, description="the dataset pushed from, or the dataset an import makes")
    message: str
