"""All the Report's issues: per-example check codes merged across chunks, and file-level findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from backend.core.analysis.chunk import (
    HAS_SYSTEM,
    ChunkResult,
    merge_reflists,
    merge_reflists_by_code,
    sum_counters,
)
from backend.core.analysis.issues import counter_detail, make_issue, share_detail, sort_issues
from backend.core.analysis.report import (
    Duplicates,
    Issue,
    OpenAIFigures,
    RecordRef,
    SystemPrompts,
    Truncation,
)

if TYPE_CHECKING:
    from backend.core.analysis.merge import Merged
    from backend.core.analysis.plan import AnalysisPlan

MANY_SYSTEM_PROMPTS = 10  # more distinct system prompts than this is reported
FEW_EXAMPLES = 100  # the largest size that score.SIZE_PENALTIES deducts for


def build_issues(
    *,
    plan: AnalysisPlan,
    results: list[ChunkResult],
    bases: list[int],
    records_total: int,
    merged: Merged,
    formats: Counter[str],
    openai: OpenAIFigures,
    truncation: Truncation,
    duplicates: Duplicates,
    system_prompts: SystemPrompts,
    unusable_count: int,
) -> list[Issue]:
    cap = plan.options.max_examples_listed
    total = merged.size
    issues: list[Issue] = []
    notes: dict[str, str] = {}
    for r in results:
        for code, note in r.issue_notes.items():
            notes.setdefault(code, note)

    for code, refs in merge_reflists_by_code([r.issues for r in results], bases, cap).items():
        detail = share_detail(refs.count, total)
        if code == "secret":
            detail += counter_detail(sum_counters(r.secret_kinds for r in results), "Kinds")
        if code in notes:
            detail += f" For example: {notes[code]}"
        issues.append(make_issue(code, refs.count, refs.refs, detail, note=code.replace("_", " ")))

    if unusable_count:
        unusable = merge_reflists([r.unusable for r in results], bases, cap)
        reasons = sum_counters(r.unusable_reasons for r in results)
        issues.append(
            make_issue(
                "unusable_record",
                unusable.count,
                unusable.refs,
                share_detail(unusable.count, records_total, "records") + counter_detail(reasons, "Reasons"),
            )
        )
    if openai.records_with_errors:
        issues.append(_openai_issue(openai))
    if truncation.examples_over:
        issues.append(
            make_issue(
                "over_max_seq_length",
                truncation.examples_over,
                _pairs(truncation.examples),
                share_detail(truncation.examples_over, total)
                + f" Over {truncation.max_seq_length:,} tokens: "
                f"{truncation.tokens_cut:,} tokens would be cut, {truncation.assistant_tokens_cut:,} of them "
                "assistant tokens.",
            )
        )
    if truncation.examples_losing_all_assistant_tokens:
        issues.append(
            make_issue(
                "all_assistant_tokens_cut",
                truncation.examples_losing_all_assistant_tokens,
                _pairs(truncation.losing_all_examples),
                share_detail(truncation.examples_losing_all_assistant_tokens, total)
                + f" Their replies start after token {truncation.max_seq_length:,}.",
            )
        )
    for code, groups in (
        ("exact_duplicate", duplicates.exact),
        ("near_duplicate", duplicates.near),
        ("prompt_duplicate", duplicates.prompt),
    ):
        if groups.count:
            issues.append(
                make_issue(
                    code,
                    groups.count,
                    _pairs(groups.examples),
                    share_detail(groups.count, total) + f" In {groups.groups_count:,} groups.",
                )
            )
    if len(formats) > 1:
        issues.append(_mixed_formats_issue(results, bases, formats, cap))
    issues.extend(_system_prompt_issues(merged, system_prompts, cap))
    if 0 < total < FEW_EXAMPLES:
        issues.append(
            make_issue(
                "too_few_examples",
                total,
                [],
                f"{total} usable examples; fewer than {FEW_EXAMPLES} rarely teach a model much.",
            )
        )
    return sort_issues(issues)


def _openai_issue(openai: OpenAIFigures) -> Issue:
    errors = Counter({k: v for k, v in openai.format_errors.items() if v})
    refs = sorted({(r.index, r.line) for refs in openai.error_examples.values() for r in refs})
    issue = make_issue(
        "openai_format_error",
        openai.records_with_errors,
        refs,
        share_detail(openai.records_with_errors, openai.applies_to, "OpenAI-format records")
        + counter_detail(errors, "Cookbook error counts"),
    )
    return issue


def _mixed_formats_issue(
    results: list[ChunkResult], bases: list[int], formats: Counter[str], cap: int
) -> Issue:
    main = formats.most_common(1)[0][0]
    minority: list[tuple[int, int | None]] = []
    for r in results:
        base = bases[r.chunk_no]
        for fmt, refs in r.format_first.items():
            if fmt != main:
                minority.extend((i + base, line) for i, line in refs)
    minority.sort(key=lambda ref: ref[0])
    detail = f"Usable records per format: {', '.join(f'{k}: {v:,}' for k, v in formats.most_common())}."
    return make_issue("mixed_formats", len(formats), minority[:cap], detail)


def _system_prompt_issues(merged: Merged, prompts: SystemPrompts, cap: int) -> list[Issue]:
    issues = []
    total = merged.size
    has_system = (merged.flags & HAS_SYSTEM) != 0
    if 0 < prompts.examples_with < total:
        minority = has_system if prompts.examples_with * 2 <= total else ~has_system
        positions = np.flatnonzero(minority)
        which = "have" if prompts.examples_with * 2 <= total else "lack"
        issues.append(
            make_issue(
                "system_prompt_in_some",
                int(positions.size),
                _pairs(merged.refs(positions, cap)),
                f"{prompts.examples_with:,} of {total:,} examples have a system prompt; "
                f"the listed ones {which} one.",
            )
        )
    if prompts.distinct > MANY_SYSTEM_PROMPTS:
        _, first = np.unique(merged.system_hash, return_index=True)
        firsts = np.sort(first[merged.system_hash[first] != 0])
        issues.append(
            make_issue(
                "many_system_prompts",
                prompts.distinct,
                _pairs(merged.refs(firsts, cap)),
                f"{prompts.distinct:,} distinct system prompts over {prompts.examples_with:,} examples; "
                "the listed records are where each first appears.",
            )
        )
    return issues


def _pairs(refs: Sequence[RecordRef]) -> list[tuple[int, int | None]]:
    return [(r.index, r.line) for r in refs]
