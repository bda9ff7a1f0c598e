"""How a Report is presented to API clients and to the CLI's --json (one shape for both)."""

from __future__ import annotations

from typing import Any

from backend.core.analysis import Report

__all__ = ["analysis_payload"]


def analysis_payload(session_id: str | None, report: Report, filename: str | None = None) -> dict[str, Any]:
    """The GET /analyze body: the seed's fields first, then the file's name as uploaded (None in the CLI),
    then the whole report (the CLI's --json too)."""
    return {
        "session_id": session_id,
        "status": "ready",
        "total_examples": report.total_examples,
        "total_tokens": report.total_tokens,
        "avg_tokens_per_example": report.avg_tokens_per_example,
        "quality_score": report.quality_score,
        "quality_issues": report.quality_issues,
        "format_valid": report.format_valid,
        "filename": filename,
        "report": report.model_dump(mode="json"),
    }
