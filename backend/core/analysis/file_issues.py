"""All the Report's issues: per-example check codes merged across chunks, and file-level findings.

Each finding carries the complete list of the records it concerns; the report lists the first
few (max_examples_listed) and the store keeps them all (lists.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from backend.core.analysis.chunk import sum_counters
from backend.core.analysis.columns import ALL_ASSISTANT_CUT, CHAT, HAS_SYSTEM, OVER_LIMIT, no_pairs, refs_of
from backend.core.analysis.combined import Combined
from backend.core.analysis.duplicates import FoundDuplicates
from backend.core.analysis.issues import counter_detail, make_issue, share_detail, sort_issues
from backend.core.analysis.plan import FORMAT_CODES
from backend.core.analysis.report import Issue, OpenAIFigures, PreferenceSection, ReadStopped, SystemPrompts, Truncation
from backend.core.analysis.sections import openai_error_records
from backend.core.conversation import SourceFormat

I64 = npt.NDArray[np.int64]
MANY_SYSTEM_PROMPTS = 10  # more distinct system prompts than this is reported
FEW_EXAMPLES = 100  # the largest size that score.SIZE_PENALTIES deducts for


@dataclass(frozen=True)
class Finding:
    code: str
    count: int
    records: I64  # (index, line or -1) of every record concerned, in file order (may be empty)
    detail: str
    note: str | None = None  # wording for an ingest code the issue table does not know

    def issue(self, cap: int) -> Issue:
        return make_issue(self.code, self.count, refs_of(self.records, cap), self.detail, note=self.note)


def build_findings(
    m: Combined,
    *,
    openai: OpenAIFigures,
    truncation: Truncation,
    duplicates: FoundDuplicates,
    system_prompts: SystemPrompts,
    preference: PreferenceSection | None,
    read_stopped: ReadStopped | None,
) -> list[Finding]:
    columns, total = m.columns, m.columns.size
    findings: list[Finding] = []
    notes: dict[str, str] = {}
    for r in m.results:
        for code, note in r.issue_notes.items():
            notes.setdefault(code, note)
    codes = sorted({code for r in m.results for code in r.example_issues})
    for code in codes:
        positions = m.example_positions(r.example_issues.get(code, np.zeros(0, dtype=np.int64)) for r in m.results)
        detail = share_detail(positions.size, total)
        if code == "secret":
            detail += counter_detail(sum_counters(r.secret_kinds for r in m.results), "Kinds")
        if code in notes:
            detail += f" For example: {notes[code]}"
        findings.append(Finding(code, int(positions.size), columns.pairs(positions), detail, code.replace("_", " ")))

    if read_stopped is not None:
        findings.append(Finding(
            "read_partly", 1, np.array([[read_stopped.index, _line(read_stopped.line)]], dtype=np.int64),
            f"Reading stopped at record {read_stopped.index:,}"
            + (f" (line {read_stopped.line:,})" if read_stopped.line else "")
            + f": {read_stopped.message} The {m.records_total:,} records before it are all this report "
            "describes; the file may hold more.",
        ))
    unusable = m.record_pairs(r.unusable for r in m.results)
    if unusable.shape[0]:
        reasons = sum_counters(r.unusable_reasons for r in m.results)
        findings.append(Finding(
            "unusable_record", int(unusable.shape[0]), unusable,
            share_detail(int(unusable.shape[0]), m.records_total, "records") + counter_detail(reasons, "Reasons"),
        ))
    if openai.messages_under_conversations:
        findings.append(Finding(
            "messages_under_conversations", openai.messages_under_conversations, no_pairs(),
            share_detail(openai.messages_under_conversations, m.records_total, "records")
            + " Every one of them is named here once rather than listed.",
        ))
    if openai.records_with_errors:
        errors = {k: v for k, v in openai.format_errors.items() if v}
        findings.append(Finding(
            "openai_format_error", openai.records_with_errors, openai_error_records(m),
            share_detail(openai.records_with_errors, openai.applies_to, "OpenAI-format records")
            + counter_detail(Counter(errors), "Cookbook error counts"),
        ))
    over = np.flatnonzero(columns["flags"] & OVER_LIMIT)
    if over.size:
        findings.append(Finding(
            "over_max_seq_length", int(over.size), columns.pairs(over),
            share_detail(int(over.size), total) + f" Over {truncation.max_seq_length:,} tokens: "
            f"{truncation.tokens_cut:,} tokens would be cut, {truncation.assistant_tokens_cut:,} of them "
            "trained (assistant) tokens.",
        ))
    lost = np.flatnonzero(columns["flags"] & ALL_ASSISTANT_CUT)
    if lost.size:
        findings.append(Finding(
            "all_assistant_tokens_cut", int(lost.size), columns.pairs(lost),
            share_detail(int(lost.size), total) + f" Their replies start after token {truncation.max_seq_length:,}.",
        ))
    for code, kind, section in (("exact_duplicate", "exact", duplicates.report.exact),
                                ("near_duplicate", "near", duplicates.report.near),
                                ("prompt_duplicate", "prompt", duplicates.report.prompt)):
        if section.count:
            findings.append(Finding(
                code, section.count, columns.pairs(duplicates.later[kind]),
                share_detail(section.count, total) + f" In {section.groups_count:,} groups.",
            ))
    if preference is not None:
        positions = np.flatnonzero(columns["preference"] != CHAT)
        findings.append(Finding(
            "preference_data", preference.examples, columns.pairs(positions),
            f"{preference.examples:,} of {total:,} examples, {preference.kind} ({preference.source_format})"
            + (f"; labels: {preference.labels['true']:,} true, {preference.labels['false']:,} false"
               if preference.labels else "") + ".",
        ))
    if len(m.formats) > 1:
        main = FORMAT_CODES[SourceFormat(m.main_format)]
        minority = np.flatnonzero(columns["format_code"] != main)
        detail = f"Usable records per format: {', '.join(f'{k}: {v:,}' for k, v in m.formats.most_common())}."
        findings.append(Finding("mixed_formats", len(m.formats), columns.pairs(minority), detail))
    findings.extend(_system_prompt_findings(m, system_prompts))
    if 0 < total < FEW_EXAMPLES:
        findings.append(Finding(
            "too_few_examples", total, no_pairs(),
            f"{total} usable examples; fewer than {FEW_EXAMPLES} rarely teach a model much.",
        ))
    return findings


def issues_of(findings: list[Finding], cap: int) -> list[Issue]:
    return sort_issues([f.issue(cap) for f in findings])


def _system_prompt_findings(m: Combined, prompts: SystemPrompts) -> list[Finding]:
    columns, total = m.columns, m.columns.size
    findings = []
    has_system = (columns["flags"] & HAS_SYSTEM) != 0
    if 0 < prompts.examples_with < total:
        few_have = prompts.examples_with * 2 <= total
        positions = np.flatnonzero(has_system if few_have else ~has_system)
        findings.append(Finding(
            "system_prompt_in_some", int(positions.size), columns.pairs(positions),
            f"{prompts.examples_with:,} of {total:,} examples have a system prompt; "
            f"the listed ones {'have' if few_have else 'lack'} one.",
        ))
    if prompts.distinct > MANY_SYSTEM_PROMPTS:
        _, first = np.unique(columns["system_hash"], return_index=True)
        firsts = np.sort(first[columns["system_hash"][first] != 0])
        findings.append(Finding(
            "many_system_prompts", prompts.distinct, columns.pairs(firsts),
            f"{prompts.distinct:,} distinct system prompts over {prompts.examples_with:,} examples; "
            "the listed records are where each first appears.",
        ))
    return findings




def _line(line: int | None) -> int:
    return -1 if line is None else line
