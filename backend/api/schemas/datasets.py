"""Schemas of the dataset routes (upload, analyze, preview), shaped after the API contract."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class UploadRead(BaseModel):
    session_id: str
    filename: str
    size: int
    message: str


class AnalysisProgress(BaseModel):
    session_id: str
    status: str = Field(description="queued | analyzing")
    progress: float = Field(ge=0, le=1)
    message: str


class AnalysisRequest(BaseModel):
    max_seq_length: int | None = Field(default=None, ge=16, le=1_048_576)
    tokenizer: str | None = Field(default=None, max_length=200)
    field_mapping: dict[str, str] | None = Field(
        default=None, description='canonical field -> your records\' key, e.g. {"prompt": "question"}; '
        '"role" and "content" name the keys inside each message')
    role_mapping: dict[str, str] | None = Field(
        default=None, description='your role names -> system/user/assistant/tool, e.g. {"bot": "assistant"}')


class PreviewMessage(BaseModel):
    role: str
    content: str
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    weight: float | None = None


class PreviewExample(BaseModel):
    index: int
    line: int | None
    messages: list[dict[str, Any]] = Field(description="the conversation; for preference data, the prompt turns")
    tools: Any = None
    token_count: int
    assistant_tokens: int | None = None
    # preference data only: a pair's answers, or an unpaired answer and its label (report.preference)
    chosen: list[dict[str, Any]] | None = None
    rejected: list[dict[str, Any]] | None = None
    completion: list[dict[str, Any]] | None = None
    label: bool | None = None


class PreviewPage(BaseModel):
    examples: list[PreviewExample]
    total_count: int
    page: int
    page_size: int
    total_pages: int


class DistributionRead(BaseModel):
    roles: dict[str, int]
    avg_message_length: float
    token_distribution: dict[str, int]
    has_system_prompts: bool
    multi_turn_percentage: float
    tokens_per_example: dict[str, Any] | None = None
    messages_per_example: dict[str, Any] | None = None
    assistant_tokens_per_example: dict[str, Any] | None = None
    tokens_by_role: dict[str, int] | None = None


class DuplicatesRead(BaseModel):
    count: int
    examples: list[int]
    exact: dict[str, Any] | None = None
    near: dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None
