"""The 0–100 quality score: 100 minus itemised deductions, each with the reason a person reads.

What a training run gets from a file is its usable, distinct examples, so the records that give
it nothing weigh in proportion: every unusable record and every exact copy of an earlier
example costs its share of the file in full (94% duplicates cost 94 points), a near-duplicate
half of its share (it adds little, not nothing), and a file with no usable example scores 0.
Reading that stopped early costs a flat 20: the figures describe only part of the file.

Every other issue code has a cap (the most it can cost) and a saturation share (the share of
examples at which it costs the whole cap); in between the cost grows linearly, and any
occurrence costs at least one point, so every problem found is visible in the score.
Informational findings that are often intended (extra keys, many system prompts, preference
data) cost nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from backend.core.analysis.report import Deduction, Issue, Quality


@dataclass(frozen=True, slots=True)
class Penalty:
    cap: int
    saturation: float  # share of examples (or records) at which the whole cap applies


# code -> weight: points = round(100 x weight x share of all records)
PROPORTIONAL: dict[str, float] = {"unusable_record": 1.0, "exact_duplicate": 1.0, "near_duplicate": 0.5}
PENALTIES: dict[str, Penalty] = {
    "missing_assistant": Penalty(20, 0.1),
    "nothing_trained": Penalty(20, 0.1),
    "openai_format_error": Penalty(10, 0.1),
    "all_assistant_tokens_cut": Penalty(15, 0.05),
    "over_max_seq_length": Penalty(10, 0.2),
    "secret": Penalty(10, 0.01),
    "prompt_duplicate": Penalty(3, 0.3),
    "unknown_role": Penalty(10, 0.1),
    "consecutive_same_role": Penalty(8, 0.2),
    "empty_content": Penalty(8, 0.1),
    "assistant_first": Penalty(5, 0.2),
    "not_ending_with_assistant": Penalty(5, 0.2),
    "missing_user": Penalty(5, 0.2),
    "tool_call_without_result": Penalty(5, 0.2),
    "pii_email": Penalty(4, 0.05),
    "pii_phone": Penalty(4, 0.05),
    "short_reply": Penalty(3, 0.5),
}
RECORD_CODES = frozenset({"unusable_record", "openai_format_error", "exact_duplicate", "near_duplicate"})
FLAT_PENALTIES: dict[str, int] = {"mixed_formats": 5, "system_prompt_in_some": 2, "read_partly": 20,
                                  "messages_under_conversations": 2}
# OpenAI's minimum is 10 examples and it suggests 50–100 to start: (below, points)
SIZE_PENALTIES: tuple[tuple[int, int], ...] = ((10, 20), (50, 10), (100, 5))


def score_quality(issues: list[Issue], total_examples: int, records_total: int) -> Quality:
    """Deductions for every issue found, and the score that remains (never below 0).

    >>> from backend.core.analysis.report import Issue
    >>> dup = Issue(code="exact_duplicate", severity="warning", title="t", detail="d", advice="a", count=30)
    >>> q = score_quality([dup], total_examples=200, records_total=200)
    >>> q.score, q.deductions[0].points
    (85, 15)
    """
    deductions: list[Deduction] = []
    if total_examples == 0:
        deductions.append(Deduction(
            code="no_usable_examples", points=100,
            reason="No usable example: a training run would get nothing from this file.",
        ))
    for issue in issues:
        points = deduction_points(issue, total_examples, records_total)
        if points:
            reason = deduction_reason(issue, total_examples, records_total)
            deductions.append(Deduction(code=issue.code, points=points, reason=reason))
    for below, points in SIZE_PENALTIES:
        if 0 < total_examples < below:
            deductions.append(
                Deduction(
                    code="too_few_examples",
                    points=points,
                    reason=f"Only {total_examples} usable examples: OpenAI requires at least 10 and suggests "
                    f"50–100 to start; fewer than {below} is too few for a reliable fine-tune.",
                )
            )
            break
    score = max(0, 100 - sum(d.points for d in deductions))
    return Quality(score=score, deductions=deductions)


def deduction_points(issue: Issue, total_examples: int, records_total: int) -> int:
    if issue.count <= 0:
        return 0
    if issue.code in FLAT_PENALTIES:
        return FLAT_PENALTIES[issue.code]
    share = _share(issue, total_examples, records_total)
    if issue.code in PROPORTIONAL:
        return max(1, round(100 * PROPORTIONAL[issue.code] * share))
    penalty = PENALTIES.get(issue.code)
    if penalty is None:
        return 0
    return max(1, min(penalty.cap, math.ceil(penalty.cap * share / penalty.saturation - 1e-9)))


def deduction_reason(issue: Issue, total_examples: int, records_total: int) -> str:
    title = issue.title
    if issue.code in FLAT_PENALTIES:
        return f"{title[0].upper()}{title[1:]}. {issue.advice}"
    share = _share(issue, total_examples, records_total)
    of = _base(issue, total_examples, records_total)
    what = "records" if issue.code in RECORD_CODES else "examples"
    cost = ""
    if issue.code in PROPORTIONAL:
        weight = PROPORTIONAL[issue.code]
        cost = " a training run gets nothing from them, so they cost their share" if weight == 1 else (
            f" they add little, so they cost {weight:.0%} of their share")
        cost = ";" + cost
    return f"{title[0].upper()}{title[1:]} ({share:.1%} of {of:,} {what}{cost}). {issue.advice}"


def _share(issue: Issue, total_examples: int, records_total: int) -> float:
    base = _base(issue, total_examples, records_total)
    return min(1.0, issue.count / base) if base else 1.0


def _base(issue: Issue, total_examples: int, records_total: int) -> int:
    # shares of the whole file (unusable records included) for what a run loses; of examples for the rest
    return records_total if issue.code in RECORD_CODES else total_examples
