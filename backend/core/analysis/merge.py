"""merge_results: chunk results -> one Report, the complete record lists and the store's index.

Cheap: numpy over the combined per-example columns. Chunk-local record numbers become global
ones by adding the number of records in the chunks before (combined.py); every section of the
report is one function of sections.py, the issues come from file_issues.py, the duplicate groups
from duplicates.py. The store's index is written last, so a store with an index is complete.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from backend.core.analysis import sections
from backend.core.analysis.chunk import ChunkResult, sum_counters
from backend.core.analysis.columns import HAS_SYSTEM, JSON_OUTPUT, MULTI_TURN, NON_ALTERNATING, TOOL_USE
from backend.core.analysis.combined import Combined, combine
from backend.core.analysis.duplicates import find_duplicates
from backend.core.analysis.file_issues import build_findings, issues_of
from backend.core.analysis.lists import write_issue_records
from backend.core.analysis.plan import AnalysisPlan
from backend.core.analysis.report import Report
from backend.core.analysis.score import score_quality
from backend.core.analysis.store import write_store
from backend.core.analysis.worker import cached_counter


def merge_results(plan: AnalysisPlan, results: list[ChunkResult], store_dir: Path) -> Report:
    timings: defaultdict[str, float] = defaultdict(float)
    for r in results:
        for phase, seconds in r.timings.items():
            timings[phase] += seconds
    started = time.perf_counter()
    m = combine(plan, results, store_dir)
    t0 = time.perf_counter()
    duplicates = find_duplicates(m.columns, m.band_keys, m.chunk_of, store_dir, m.cap)
    timings["merge_duplicates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    info = m.results[0].tokenizer if m.results else cached_counter(plan.options.tokenizer).info
    openai = sections.openai_figures(m, info.name)
    truncation = sections.truncation(m)
    system_prompts = sections.system_prompts(m)
    preference = sections.preference(m)
    read_stopped = sections.read_stopped(m)
    findings = build_findings(m, openai=openai, truncation=truncation, duplicates=duplicates,
                              system_prompts=system_prompts, preference=preference, read_stopped=read_stopped)
    issues = issues_of(findings, m.cap)
    quality = score_quality(issues, m.columns.size, m.records_total)
    roles = sum_counters(r.roles for r in m.results)
    total_tokens = int(m.columns["tokens"].sum())
    total = m.columns.size
    unusable_count = sum(int(r.unusable.shape[0]) for r in m.results)
    timings["merge_report"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for finding in findings:
        if finding.records.shape[0]:
            write_issue_records(store_dir, finding.code, finding.records)
    _write_index(m)
    timings["merge_store"] = time.perf_counter() - t0
    timings["merge_combine"] = t0 - started - timings["merge_duplicates"] - timings["merge_report"]
    columns = m.columns
    return Report(
        total_examples=total,
        total_tokens=total_tokens,
        avg_tokens_per_example=round(total_tokens / total, 2) if total else 0.0,
        quality_score=quality.score,
        quality_issues=[issue.title for issue in issues],
        format_valid=unusable_count == 0 and total > 0 and openai.records_with_errors == 0 and read_stopped is None,
        file=sections.file_section(m),
        tokenizer=sections.tokenizer_section(info),
        records_total=m.records_total,
        records_unusable=unusable_count,
        unusable=sections.unusable_records(m),
        records_total_is_lower_bound=read_stopped is not None,
        read_stopped=read_stopped,
        distributions=sections.distributions(m),
        tokens_by_role=dict(sum_counters(r.tokens_by_role for r in m.results)),
        roles=dict(roles),
        system_prompt_share=columns.share(HAS_SYSTEM),
        multi_turn_share=columns.share(MULTI_TURN),
        non_alternating_share=columns.share(NON_ALTERNATING),
        tool_call_share=columns.share(TOOL_USE),
        json_output_share=columns.share(JSON_OUTPUT),
        system_prompts=system_prompts,
        openai=openai,
        issues=issues,
        truncation=truncation,
        duplicates=duplicates.report,
        languages=sections.languages(m),
        quality=quality,
        preview=sections.preview(m, roles),
        preference=preference,
        timings={k: round(v, 4) for k, v in timings.items()},
    )


def _write_index(m: Combined) -> None:
    columns = m.columns
    rows = np.column_stack(
        [columns["record"], columns["line"], m.chunk_of, columns["start"], columns["end"], columns["tokens"],
         columns["assistant_tokens"]]
    ).astype(np.int64)
    write_store(m.store_dir, rows)
