"""merge_results: chunk results -> one Report (and the store's index). Cheap: numpy over per-example arrays.

Chunk-local record numbers become global ones by adding the number of records in the chunks
before; capped record lists are concatenated in chunk order and cut again, so a chunked and a
single-pass analysis of one file list the very same records.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.analysis import openai_format
from backend.core.analysis.chunk import (
    ALL_ASSISTANT_CUT,
    HAS_SYSTEM,
    JSON_OUTPUT,
    MULTI_TURN,
    NON_ALTERNATING,
    OVER_LIMIT,
    TOOL_USE,
    ChunkResult,
    RefList,
    merge_reflists,
    merge_reflists_by_code,
    sum_counters,
)
from backend.core.analysis.duplicates import find_duplicates
from backend.core.analysis.file_issues import build_issues
from backend.core.analysis.language import SAMPLE_CHARS
from backend.core.analysis.plan import FORMATS, AnalysisPlan
from backend.core.analysis.report import (
    Distributions,
    FileSection,
    Languages,
    OpenAIFigures,
    PreviewDistribution,
    RecordRef,
    Report,
    SystemPrompts,
    TokenizerSection,
    Truncation,
    UnusableRecord,
)
from backend.core.analysis.score import score_quality
from backend.core.analysis.stats import bucket_tokens, describe
from backend.core.analysis.store import write_store
from backend.core.analysis.worker import cached_counter
from backend.core.conversation import SourceFormat
from backend.core.errors import InvalidInputError

Refs = list[tuple[int, int | None]]


@dataclass(frozen=True)
class Merged:
    """Every chunk's per-example arrays, concatenated, with global record numbers."""

    index: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    tokens: npt.NDArray[np.int64]
    assistant_tokens: npt.NDArray[np.int64]
    assistant_cut: npt.NDArray[np.int64]
    messages: npt.NDArray[np.int64]
    chars: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint16]
    fingerprint: npt.NDArray[np.uint64]
    prompt_fingerprint: npt.NDArray[np.uint64]
    system_hash: npt.NDArray[np.uint64]
    band_keys: npt.NDArray[np.uint64]
    format_code: npt.NDArray[np.int8]

    @property
    def size(self) -> int:
        return int(self.index.size)

    def refs(self, positions: npt.NDArray[np.intp] | list[int], cap: int) -> list[RecordRef]:
        return [RecordRef(index=int(self.index[p]), line=self.line_of(int(p))) for p in list(positions)[:cap]]

    def line_of(self, position: int) -> int | None:
        line = int(self.line[position])
        return line if line >= 0 else None

    def share(self, flag: int) -> float:
        return float(np.count_nonzero(self.flags & flag)) / self.size if self.size else 0.0


def merge_results(plan: AnalysisPlan, results: list[ChunkResult], store_dir: Path) -> Report:
    started = time.perf_counter()
    results = sorted(results, key=lambda r: r.chunk_no)
    if [r.chunk_no for r in results] != list(range(len(plan.chunks))):
        raise InvalidInputError("merge_results needs exactly one result for every chunk of the plan.")
    cap = plan.options.max_examples_listed
    record_bases = np.concatenate([[0], np.cumsum([r.records for r in results])]).astype(np.int64)
    bases = [int(b) for b in record_bases[:-1]]
    merged = _concatenate(results, record_bases)
    rows = np.column_stack(
        [
            merged.index,
            merged.line,
            _cat([np.full(r.start.size, r.chunk_no, dtype=np.int64) for r in results]),
            _cat([r.start for r in results]),
            _cat([r.end for r in results]),
            merged.tokens,
            merged.assistant_tokens,
        ]
    ).astype(np.int64)
    write_store(store_dir, rows)
    timings: defaultdict[str, float] = defaultdict(float)
    for r in results:
        for phase, seconds in r.timings.items():
            timings[phase] += seconds
    timings["merge_store"] = time.perf_counter() - started

    t0 = time.perf_counter()
    duplicates = find_duplicates(merged, cap)
    timings["merge_duplicates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    records_total = int(record_bases[-1])
    formats = Counter(
        {
            FORMATS[code].value: int(n)
            for code, n in zip(*np.unique(merged.format_code, return_counts=True), strict=True)
        }
    )
    info = results[0].tokenizer if results else cached_counter(plan.options.tokenizer).info
    openai = _openai_figures(results, bases, formats, cap, info.name)
    truncation = _truncation(plan, merged, cap)
    system_prompts = _system_prompts(results, merged)
    languages = _languages(results, plan.language_modulus)
    unusable = merge_reflists([r.unusable for r in results], bases, cap)
    issues = build_issues(
        plan=plan,
        results=results,
        bases=bases,
        records_total=records_total,
        merged=merged,
        formats=formats,
        openai=openai,
        truncation=truncation,
        duplicates=duplicates,
        system_prompts=system_prompts,
        unusable_count=unusable.count,
    )
    total_examples = merged.size
    quality = score_quality(issues, total_examples, records_total)
    total_tokens = int(merged.tokens.sum())
    roles = sum_counters(r.roles for r in results)
    timings["merge_report"] = time.perf_counter() - t0
    return Report(
        total_examples=total_examples,
        total_tokens=total_tokens,
        avg_tokens_per_example=round(total_tokens / total_examples, 2) if total_examples else 0.0,
        quality_score=quality.score,
        quality_issues=[issue.title for issue in issues],
        format_valid=unusable.count == 0 and total_examples > 0 and sum(openai.format_errors.values()) == 0,
        file=FileSection(
            container=plan.info.container,
            compression=plan.info.compression,
            encoding=plan.info.encoding,
            encoding_note=plan.info.encoding_note,
            size_bytes=plan.info.size_bytes,
            list_key=plan.info.list_key,
            format=formats.most_common(1)[0][0] if formats else SourceFormat.UNKNOWN.value,
            formats=dict(formats),
        ),
        tokenizer=TokenizerSection(
            name=info.name, counted_with=info.counted_with, exact=info.exact, note=info.note
        ),
        records_total=records_total,
        records_unusable=unusable.count,
        unusable=[
            UnusableRecord(index=i + bases[r.chunk_no], line=line, code=code, message=msg)
            for r in results
            for i, line, code, msg in r.unusable_details
        ][:cap],
        distributions=Distributions(
            tokens_per_example=describe(merged.tokens),
            assistant_tokens_per_example=describe(merged.assistant_tokens),
            messages_per_example=describe(merged.messages),
        ),
        tokens_by_role=dict(sum_counters(r.tokens_by_role for r in results)),
        roles=dict(roles),
        system_prompt_share=merged.share(HAS_SYSTEM),
        multi_turn_share=merged.share(MULTI_TURN),
        non_alternating_share=merged.share(NON_ALTERNATING),
        tool_call_share=merged.share(TOOL_USE),
        json_output_share=merged.share(JSON_OUTPUT),
        system_prompts=system_prompts,
        openai=openai,
        issues=issues,
        truncation=truncation,
        duplicates=duplicates,
        languages=languages,
        quality=quality,
        preview=PreviewDistribution(
            roles=dict(roles),
            avg_message_length=round(float(merged.chars.sum()) / max(1, sum(roles.values())), 1),
            token_distribution=bucket_tokens(merged.tokens),
            has_system_prompts=bool(np.any(merged.flags & HAS_SYSTEM)),
            multi_turn_percentage=round(100 * merged.share(MULTI_TURN), 1),
        ),
        timings={k: round(v, 4) for k, v in timings.items()},
    )


def _cat(parts: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _concatenate(results: list[ChunkResult], record_bases: npt.NDArray[np.int64]) -> Merged:
    def cat(name: str, dtype: type[np.generic]) -> npt.NDArray[Any]:
        parts = [getattr(r, name) for r in results]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)

    bands = [r.band_keys for r in results if r.band_keys.size]
    return Merged(
        index=np.concatenate([r.local_index + record_bases[i] for i, r in enumerate(results)]).astype(
            np.int64
        ),
        line=cat("line", np.int64),
        tokens=cat("tokens", np.int64),
        assistant_tokens=cat("assistant_tokens", np.int64),
        assistant_cut=cat("assistant_cut", np.int64),
        messages=cat("messages", np.int64),
        chars=cat("chars", np.int64),
        flags=cat("flags", np.uint16),
        fingerprint=cat("fingerprint", np.uint64),
        prompt_fingerprint=cat("prompt_fingerprint", np.uint64),
        system_hash=cat("system_hash", np.uint64),
        band_keys=np.concatenate(bands) if bands else np.zeros((0, 0), dtype=np.uint64),
        format_code=cat("format_code", np.int8),
    )


def _openai_figures(
    results: list[ChunkResult], bases: list[int], formats: Counter[str], cap: int, tokenizer: str
) -> OpenAIFigures:
    books = [r.cookbook for r in results]
    errors = merge_reflists_by_code([b.errors for b in books], bases, cap)
    with_errors = merge_reflists([b.records_with_errors for b in books], bases, cap)
    applies_to = sum(b.validated for b in books)
    file_is_openai = bool(formats) and formats.most_common(1)[0][0] == SourceFormat.OPENAI.value
    if file_is_openai:  # the cookbook validates every record of an OpenAI file, whatever it holds
        for code, attr in (
            ("data_type", "other_data_type"),
            ("missing_messages_list", "other_missing_messages"),
        ):
            extra = merge_reflists([getattr(b, attr) for b in books], bases, cap)
            if extra.count:
                current = errors.get(code, RefList())
                errors[code] = RefList(
                    current.count + extra.count,
                    sorted(current.refs + extra.refs, key=lambda ref: ref[0])[:cap],
                )
                with_errors = RefList(
                    with_errors.count + extra.count,
                    sorted(with_errors.refs + extra.refs, key=lambda ref: ref[0])[:cap],
                )
                applies_to += extra.count
    total = _cat([b.total_tokens for b in books])
    return OpenAIFigures(
        applies_to=applies_to,
        note=openai_format.NOTE,
        tokenizer=tokenizer,
        format_errors={
            code: errors[code].count if code in errors else 0 for code in openai_format.FORMAT_ERRORS
        },
        error_examples={
            code: [RecordRef(index=i, line=line) for i, line in errors[code].refs]
            for code in openai_format.FORMAT_ERRORS
            if code in errors
        },
        records_with_errors=with_errors.count,
        missing_system=sum(b.missing_system for b in books),
        missing_user=sum(b.missing_user for b in books),
        messages_per_example=describe(_cat([b.num_messages for b in books])),
        total_tokens_per_example=describe(total),
        assistant_tokens_per_example=describe(_cat([b.assistant_tokens for b in books])),
        over_4096=int(np.count_nonzero(total > 4096)),
        over_16385=int(np.count_nonzero(total > 16385)),
        over_65536=int(np.count_nonzero(total > 65536)),
    )


def _truncation(plan: AnalysisPlan, merged: Merged, cap: int) -> Truncation:
    limit = plan.options.max_seq_length
    over = np.flatnonzero(merged.flags & OVER_LIMIT)
    lost = np.flatnonzero(merged.flags & ALL_ASSISTANT_CUT)
    return Truncation(
        max_seq_length=limit,
        examples_over=int(over.size),
        tokens_cut=int((merged.tokens[over] - limit).sum()),
        assistant_tokens_cut=int(merged.assistant_cut.sum()),
        examples_losing_all_assistant_tokens=int(lost.size),
        examples=merged.refs(over, cap),
        losing_all_examples=merged.refs(lost, cap),
    )


def _system_prompts(results: list[ChunkResult], merged: Merged) -> SystemPrompts:
    hashes = merged.system_hash[merged.system_hash != 0]
    values, counts = np.unique(hashes, return_counts=True)
    texts: dict[int, str] = {}
    for r in results:
        for key, text in r.system_texts.items():
            texts.setdefault(key, text)
    order = np.argsort(-counts, kind="stable")
    common = [texts[int(values[i])] for i in order if int(values[i]) in texts][:5]
    return SystemPrompts(distinct=int(values.size), examples_with=int(hashes.size), most_common=common)


def _languages(results: list[ChunkResult], modulus: int) -> Languages:
    counts = sum_counters(r.languages for r in results)
    sampled = sum(counts.values())
    method = (
        "Unicode script, then a stopword profile for Latin-script text, over the first "
        f"{SAMPLE_CHARS:,} characters of the user and assistant turns; "
        + (
            "every example."
            if modulus == 1
            else f"about 1 example in {modulus}, chosen by a hash of the conversation."
        )
    )
    ordered = dict(counts.most_common())
    return Languages(
        method=method,
        sampled=sampled,
        counts=ordered,
        shares={k: round(v / sampled, 4) for k, v in ordered.items()} if sampled else {},
    )
