"""Schemas of the job history routes (GET|POST /jobs, GET|PATCH|DELETE /jobs/{id})."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

JobStatus = Literal["created", "analyzed", "recommended", "generated", "failed"]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Links are shown in the web page: only web addresses, never javascript: or data: URLs.
_WEB_URL_PATTERN = r"^https?://[^\s]+$"


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=64, description="the upload's session id")
    dataset_filename: str | None = Field(default=None, min_length=1, max_length=300)


class JobUpdate(BaseModel):
    """Fields a client may change. The session and notebook links are set by the server only."""

    model_config = ConfigDict(extra="forbid")

    dataset_filename: str | None = Field(default=None, min_length=1, max_length=300)
    dataset_stats: dict[str, Any] | None = None
    task_type: str | None = Field(default=None, min_length=1, max_length=40)
    deployment_target: str | None = Field(default=None, min_length=1, max_length=40)
    model_id: str | None = Field(default=None, min_length=1, max_length=100)
    model_score: float | None = Field(default=None, allow_inf_nan=False)
    training_config: dict[str, Any] | None = None
    colab_url: str | None = Field(default=None, max_length=2000, pattern=_WEB_URL_PATTERN)
    status: JobStatus | None = None

    @field_validator("status")
    @classmethod
    def status_is_not_cleared(cls, value: JobStatus | None) -> JobStatus:
        if value is None:
            raise ValueError("status cannot be null; use created, analyzed, recommended, generated or failed")
        return value

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent (an explicit null clears an optional field)."""
        return self.model_dump(exclude_unset=True)


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    session_id: str | None
    dataset_filename: str | None
    dataset_stats: dict[str, Any] | None
    task_type: str | None
    deployment_target: str | None
    model_id: str | None
    model_score: float | None
    training_config: dict[str, Any] | None
    notebook_id: str | None
    download_url: str | None = None  # the notebook's download link, for re-downloading from the history
    # web page (issue 14): the notebook's link expiry and what went into it, for the history
    notebook_expires_at: datetime | None = None
    notebook_examples: int | None = None
    notebook_examples_left_out: int | None = None
    notebook_records_unusable: int | None = None
    colab_url: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class JobList(RootModel[list[JobRead]]):
    """GET /jobs answers a bare list (as the API contract shows); paging is in the headers."""
