"""Schemas of the field / role mapping: the upload's JSON query parameters and the mapping preview."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, Field

from backend.core.errors import InvalidInputError


def json_mapping(text: str | None) -> dict[str, str] | None:
    """A mapping given as JSON text in a query parameter (multipart uploads carry options there)."""
    if text is None or not text.strip():
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInputError('A mapping must be a JSON object of names, e.g. {"prompt": "question"}.',
                                field="mapping")
    return value


class MappingPreviewRequest(BaseModel):
    field_mapping: dict[str, str] | None = None
    role_mapping: dict[str, str] | None = None
    count: int = Field(default=5, ge=1, le=20, description="records to convert")


class MappedRecordRead(BaseModel):
    index: int
    line: int | None
    keys: list[str] = Field(description="the record's own top-level keys, as written")
    format: str | None = Field(description="the format detected after the mapping; null when still unusable")
    example: dict[str, Any] | None = Field(description="the canonical example the analysis would store")
    issues: list[dict[str, str]]


class MappingPreviewRead(BaseModel):
    field_mapping: dict[str, str] | None
    role_mapping: dict[str, str] | None
    usable: int = Field(description="how many of the previewed records convert to an example")
    records: list[MappedRecordRead]
