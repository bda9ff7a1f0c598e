"""Schemas of the dataset routes (upload, analyze, preview), shaped after the API contract."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from backend.core.browse import ExampleQuery


class UploadRead(BaseModel):
    session_id: str
    filename: str
    size: int
    message: str
    task_id: str = Field(description="the analysis task (GET /tasks/{task_id}, its events, DELETE to stop it)")


class AnalysisProgress(BaseModel):
    session_id: str
    status: str = Field(description="queued | analyzing | cancelling; fixing | importing while a task makes the "
                                    "version (task_id is that task)")
    progress: float = Field(ge=0, le=1)
    task_id: str | None = None
    detailed_status: list[str] = Field(default_factory=list)
    partial: dict[str, Any] | None = Field(
        default=None, description="figures of the chunks analysed so far (partial: they grow until the report)")
    filename: str | None = Field(default=None, description="the file's name as uploaded (None while a task still "
                                                           "makes the version)")
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


class PreviewFilters(BaseModel):
    """The optional query parameters of GET /preview/{session_id}: search, filter, sort, jump to a record."""

    q: str | None = Field(None, min_length=1, max_length=200, description="text in contents or tool calls")
    role: Literal["system", "user", "assistant", "tool"] | None = Field(
        None, description="examples with a message of this role (with q: q must be in such a message)")
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$", description="ISO 639-1 code, or und")
    min_tokens: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)
    sort: Literal["file", "tokens_desc", "tokens_asc"] = "file"
    records: str | None = Field(None, max_length=12_000, pattern=r"^\d{1,10}(,\d{1,10})*$",
                                description="only these record numbers, comma-separated")
    at_record: int | None = Field(None, ge=0, description="answer the page that holds this record number")

    def to_query(self) -> ExampleQuery:
        records = tuple(int(n) for n in self.records.split(",")) if self.records else None
        return ExampleQuery(text=self.q, role=self.role, language=self.language, min_tokens=self.min_tokens,
                            max_tokens=self.max_tokens, records=records, sort=self.sort)


class PreviewExample(BaseModel):
    index: int
    line: int | None
    position: int | None = Field(None, description="0-based among the usable examples, in file order")
    messages: list[dict[str, Any]] = Field(description="the conversation; for preference data, the prompt turns")
    tools: Any = None
    token_count: int
    assistant_tokens: int | None = None
    language: str | None = Field(None, description="detected as the analysis does (ISO 639-1, or und)")
    # preference data only: a pair's answers, or an unpaired answer and its label (report.preference)
    chosen: list[dict[str, Any]] | None = None
    rejected: list[dict[str, Any]] | None = None
    completion: list[dict[str, Any]] | None = None
    label: bool | None = None


class PreviewPage(BaseModel):
    examples: list[PreviewExample]
    total_count: int = Field(description="examples that match the filters (all usable examples without)")
    page: int
    page_size: int
    total_pages: int
    total_examples: int | None = Field(None, description="usable examples in the dataset, before filters")
    missing_records: list[int] = Field(default_factory=list,
                                       description="asked-for record numbers that are not usable examples")


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
    tokens_log_histogram: list[dict[str, int]] | None = Field(
        None, description="examples per token-length bin, two bins per doubling: [{lo, hi (exclusive), count}]")
    max_seq_length: int | None = None
    examples_over_max_seq_length: int | None = None


class DuplicatesRead(BaseModel):
    count: int
    examples: list[int]
    exact: dict[str, Any] | None = None
    near: dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None
