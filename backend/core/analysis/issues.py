"""Turning merged counts and record lists into the Report's issues, worded for a person."""

from __future__ import annotations

from collections import Counter

from backend.core.analysis.checks import describe_issue_code
from backend.core.analysis.report import Issue, RecordRef

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def make_issue(code: str, count: int, refs: list[RecordRef], detail: str, *, note: str | None = None) -> Issue:
    """One issue from a code of checks.ISSUE_KINDS (or an ingest code, worded generically)."""
    kind = describe_issue_code(code, note)
    return Issue(
        code=code,
        severity=kind.severity,
        title=kind.title.format(n=f"{count:,}"),
        detail=detail,
        advice=kind.advice,
        count=count,
        examples=refs,
    )


def share_detail(count: int, total: int, what: str = "examples") -> str:
    share = count / total if total else 0.0
    return f"{count:,} of {total:,} {what} ({share:.1%})."


def counter_detail(counts: Counter[str], label: str) -> str:
    parts = ", ".join(f"{key}: {value:,}" for key, value in counts.most_common())
    return f" {label}: {parts}." if parts else ""


def sort_issues(issues: list[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (SEVERITY_ORDER[i.severity], -i.count, i.code))
