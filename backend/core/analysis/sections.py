"""The report's sections, one function each, from the combined chunk results (see combined.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from backend.core.analysis import openai_format
from backend.core.analysis.chunk import sum_counters
from backend.core.analysis.columns import (
    ALL_ASSISTANT_CUT,
    HAS_SYSTEM,
    MULTI_TURN,
    OVER_LIMIT,
    PAIRED,
    UNPAIRED_BAD,
    UNPAIRED_GOOD,
    refs_of,
)
from backend.core.analysis.combined import Combined
from backend.core.analysis.language import SAMPLE_CHARS
from backend.core.analysis.report import (
    Distributions,
    FileSection,
    Languages,
    OpenAIFigures,
    PreferenceSection,
    PreviewDistribution,
    ReadStopped,
    SystemPrompts,
    TokenizerSection,
    Truncation,
    UnusableRecord,
)
from backend.core.analysis.stats import bucket_tokens, describe
from backend.core.conversation import PREFERENCE_FORMATS, SourceFormat
from backend.core.tokens import TokenizerInfo


def file_section(m: Combined) -> FileSection:
    info = m.plan.info
    return FileSection(
        container=info.container,
        compression=info.compression,
        encoding=info.encoding,
        encoding_note=info.encoding_note,
        size_bytes=info.size_bytes,
        list_key=info.list_key,
        format=m.main_format,
        formats=dict(m.formats),
    )


def tokenizer_section(info: TokenizerInfo) -> TokenizerSection:
    return TokenizerSection(name=info.name, counted_with=info.counted_with, exact=info.exact, note=info.note)


def distributions(m: Combined) -> Distributions:
    columns = m.columns
    return Distributions(
        tokens_per_example=describe(columns["tokens"]),
        assistant_tokens_per_example=describe(columns["assistant_tokens"]),
        messages_per_example=describe(columns["messages"]),
    )


def unusable_records(m: Combined) -> list[UnusableRecord]:
    return [
        UnusableRecord(index=i + m.record_bases[r.chunk_no], line=line, code=code, message=msg)
        for r in m.results
        for i, line, code, msg in r.unusable_details
    ][: m.cap]


def read_stopped(m: Combined) -> ReadStopped | None:
    """The first place reading stopped early (a file is read in order, so the first one ends it)."""
    for r in m.results:
        for stop in r.read_stops:
            return ReadStopped(
                index=stop.index + m.record_bases[r.chunk_no], line=stop.line, code=stop.code, message=stop.message
            )
    return None


def openai_figures(m: Combined, tokenizer: str) -> OpenAIFigures:
    books = [r.cookbook for r in m.results]
    errors = {code: m.record_pairs(b.errors.get(code, _none()) for b in books) for code in openai_format.FORMAT_ERRORS}
    with_errors = m.record_pairs(b.records_with_errors for b in books)
    applies_to = sum(b.validated for b in books)
    if m.main_format == SourceFormat.OPENAI.value:  # the cookbook validates every record of an OpenAI file
        for code, attr in (("data_type", "other_data_type"), ("missing_messages_list", "other_missing_messages")):
            extra = m.record_pairs(getattr(b, attr) for b in books)
            if extra.shape[0]:
                errors[code] = _in_order(np.concatenate([errors[code], extra]))
                with_errors = _in_order(np.concatenate([with_errors, extra]))
                applies_to += int(extra.shape[0])
    total = _cat([b.total_tokens for b in books])
    return OpenAIFigures(
        applies_to=applies_to,
        note=openai_format.NOTE,
        tokenizer=tokenizer,
        format_errors={code: int(errors[code].shape[0]) for code in openai_format.FORMAT_ERRORS},
        error_examples={code: refs_of(pairs, m.cap) for code, pairs in errors.items() if pairs.shape[0]},
        records_with_errors=int(with_errors.shape[0]),
        missing_system=sum(b.missing_system for b in books),
        missing_user=sum(b.missing_user for b in books),
        messages_per_example=describe(_cat([b.num_messages for b in books])),
        total_tokens_per_example=describe(total),
        assistant_tokens_per_example=describe(_cat([b.assistant_tokens for b in books])),
        over_4096=int(np.count_nonzero(total > 4096)),
        over_16385=int(np.count_nonzero(total > 16385)),
        over_65536=int(np.count_nonzero(total > 65536)),
        messages_under_conversations=sum(b.messages_under_conversations for b in books),
    )


def openai_error_records(m: Combined) -> np.ndarray:
    """Every record with an OpenAI format error (the complete list behind openai_format_error)."""
    books = [r.cookbook for r in m.results]
    pairs = m.record_pairs(b.records_with_errors for b in books)
    if m.main_format == SourceFormat.OPENAI.value:
        extra = [m.record_pairs(getattr(b, attr) for b in books)
                 for attr in ("other_data_type", "other_missing_messages")]
        pairs = _in_order(np.concatenate([pairs, *extra]))
    return pairs


def truncation(m: Combined) -> Truncation:
    columns, limit = m.columns, m.plan.options.max_seq_length
    over = np.flatnonzero(columns["flags"] & OVER_LIMIT)
    lost = np.flatnonzero(columns["flags"] & ALL_ASSISTANT_CUT)
    return Truncation(
        max_seq_length=limit,
        examples_over=int(over.size),
        tokens_cut=int((columns["tokens"][over] - limit).sum()),
        assistant_tokens_cut=int(columns["assistant_cut"].sum()),
        examples_losing_all_assistant_tokens=int(lost.size),
        examples=columns.refs(over, m.cap),
        losing_all_examples=columns.refs(lost, m.cap),
    )


def system_prompts(m: Combined) -> SystemPrompts:
    system_hash = m.columns["system_hash"]
    hashes = system_hash[system_hash != 0]
    values, counts = np.unique(hashes, return_counts=True)
    texts: dict[int, str] = {}
    for r in m.results:
        for key, text in r.system_texts.items():
            texts.setdefault(key, text)
    order = np.argsort(-counts, kind="stable")
    common = [texts[int(values[i])] for i in order if int(values[i]) in texts][:5]
    return SystemPrompts(distinct=int(values.size), examples_with=int(hashes.size), most_common=common)


def languages(m: Combined) -> Languages:
    counts = sum_counters(r.languages for r in m.results)
    sampled = sum(counts.values())
    modulus = m.plan.language_modulus
    method = (
        "Unicode script, then a stopword profile for Latin-script text, over the first "
        f"{SAMPLE_CHARS:,} characters of the user and assistant turns; "
        + ("every example." if modulus == 1 else f"about 1 example in {modulus}, chosen by a hash of the conversation.")
    )
    ordered = dict(counts.most_common())
    return Languages(
        method=method,
        sampled=sampled,
        counts=ordered,
        shares={k: round(v / sampled, 4) for k, v in ordered.items()} if sampled else {},
    )


def preference(m: Combined) -> PreferenceSection | None:
    """Preference data found: how many examples, paired or not, in which layout (None for chat data)."""
    kinds = Counter(m.columns["preference"].tolist())
    paired, good, bad = kinds[PAIRED], kinds[UNPAIRED_GOOD], kinds[UNPAIRED_BAD]
    if paired + good + bad == 0:
        return None
    layouts = Counter({f: n for f, n in m.formats.items() if SourceFormat(f) in PREFERENCE_FORMATS})
    source = layouts.most_common(1)[0][0]
    if paired >= good + bad:
        return PreferenceSection(kind="paired", examples=paired, source_format=source)
    return PreferenceSection(
        kind="unpaired", examples=good + bad, source_format=source, labels={"true": good, "false": bad}
    )


def preview(m: Combined, roles: Counter[str]) -> PreviewDistribution:
    columns = m.columns
    return PreviewDistribution(
        roles=dict(roles),
        avg_message_length=round(float(columns["chars"].sum()) / max(1, sum(roles.values())), 1),
        token_distribution=bucket_tokens(columns["tokens"]),
        has_system_prompts=bool(np.any(columns["flags"] & HAS_SYSTEM)),
        multi_turn_percentage=round(100 * columns.share(MULTI_TURN), 1),
    )


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _none() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def _in_order(pairs: np.ndarray) -> np.ndarray:
    return pairs[np.argsort(pairs[:, 0], kind="stable")] if pairs.shape[0] else pairs

