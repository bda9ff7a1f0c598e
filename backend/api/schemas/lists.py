"""Schemas of the paged lists (complete duplicate groups and issue records)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RecordNumber(BaseModel):
    index: int = Field(description="0-based position among the file's records")
    line: int | None = Field(default=None, description="1-based line where the record starts (JSONL, CSV)")


class DuplicateGroupRead(BaseModel):
    group: int = Field(description="0-based group number, groups ordered by their first record")
    size: int
    similarity: float | None = Field(description="near only: the lowest verified Jaccard of a member to a "
                                                 "group-mate; null for exact and prompt groups")
    members: list[RecordNumber]


class DuplicateGroupsPage(BaseModel):
    kind: str
    total_groups: int
    total_records: int
    page: int
    page_size: int
    total_pages: int
    groups: list[DuplicateGroupRead]


class IssueRecordsPage(BaseModel):
    code: str
    count: int
    page: int
    page_size: int
    total_pages: int
    records: list[RecordNumber]
