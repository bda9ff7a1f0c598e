"""analyze_chunk: everything about one chunk of a file, in a worker process.

Records are taken in batches so that memory stays bounded whatever the chunk (a JSON array
is one chunk): each batch is parsed, its distinct texts are counted in one call, each example
is measured and checked, and its canonical form is written to the chunk's store file.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.analysis import openai_format
from backend.core.analysis.checks import (
    check_conversation,
    has_consecutive_same_role,
    has_json_output,
    has_tool_use,
)
from backend.core.analysis.chunk import (
    ALL_ASSISTANT_CUT,
    HAS_PROMPT,
    HAS_SYSTEM,
    JSON_OUTPUT,
    MULTI_TURN,
    NON_ALTERNATING,
    OVER_LIMIT,
    TOOL_USE,
    ChunkResult,
    ColumnBuffer,
    CookbookColumns,
    Ref,
    RefList,
)
from backend.core.analysis.fastcount import SegmentCounter, make_fast_counter
from backend.core.analysis.language import SAMPLE_CHARS, detect_language
from backend.core.analysis.measure import iter_canonical_texts, measure_example
from backend.core.analysis.pii import SECRET_KINDS, find_pii
from backend.core.analysis.plan import FORMAT_CODES, AnalysisPlan
from backend.core.analysis.store import ChunkWriter, chunk_file
from backend.core.conversation import Conversation, SourceFormat
from backend.core.dedup import (
    conversation_fingerprint,
    conversation_text,
    minhash_band_keys,
    prompt_fingerprint,
)
from backend.core.ingest import ParsedRecord, iter_records
from backend.core.tokens import TokenCounter, get_counter

BATCH_RECORDS = 2000
SYSTEM_TEXT_CHARS = 200
MAX_SYSTEM_TEXTS = 1000


@lru_cache(maxsize=8)
def cached_counter(name: str) -> TokenCounter:
    """One counter per tokenizer per worker process: loading a vocabulary costs far more than a chunk."""
    return get_counter(name)


@lru_cache(maxsize=8)
def cached_batch_counter(name: str) -> TokenCounter | SegmentCounter:
    """The fastest exact way to count a batch with this tokenizer, kept per process with its cache."""
    counter = cached_counter(name)
    return make_fast_counter(counter) or counter


def analyze_chunk(plan: AnalysisPlan, chunk_no: int, store_dir: Path) -> ChunkResult:
    """Parse, convert, count, check and store one chunk; return its compact result."""
    acc = _ChunkAccumulator(plan, chunk_no, store_dir)
    try:
        started = time.process_time()
        for batch in _batches(plan, chunk_no):
            acc.timings["cpu_parse"] += time.process_time() - started
            acc.add_batch(batch)
            started = time.process_time()
    finally:
        acc.writer.close()
    return acc.result()


def _batches(plan: AnalysisPlan, chunk_no: int) -> Iterator[list[ParsedRecord]]:
    batch: list[ParsedRecord] = []
    for record in iter_records(plan.path, plan.info, plan.chunks[chunk_no], plan.options.ingest):
        batch.append(record)
        if len(batch) >= BATCH_RECORDS:
            yield batch
            batch = []
    if batch:
        yield batch


def hash_text(text: str) -> int:
    """A 64-bit hash that is the same in every process (Python's hash() is salted per process)."""
    value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    return value or 1  # 0 means "no system prompt"


class _ChunkAccumulator:
    def __init__(self, plan: AnalysisPlan, chunk_no: int, store_dir: Path) -> None:
        self.plan = plan
        self.chunk_no = chunk_no
        self.cap = plan.options.max_examples_listed
        self.max_len = plan.options.max_seq_length
        self.counter = cached_batch_counter(plan.options.tokenizer)
        self.writer = ChunkWriter(chunk_file(store_dir, chunk_no))
        self.records = 0
        self.columns = ColumnBuffer(_COLUMNS)
        self.cookbook_columns = ColumnBuffer(_COOKBOOK_COLUMNS)
        self.band_keys: list[np.ndarray] = []
        self.issues: dict[str, RefList] = {}
        self.issue_notes: dict[str, str] = {}
        self.unusable = RefList()
        self.unusable_details: list[tuple[int, int | None, str, str]] = []
        self.unusable_reasons: Counter[str] = Counter()
        self.roles: Counter[str] = Counter()
        self.tokens_by_role: Counter[str] = Counter()
        self.secret_kinds: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.system_texts: dict[int, str] = {}
        self.format_first: dict[str, list[Ref]] = {}
        self.cookbook = CookbookColumns()
        self.timings: defaultdict[str, float] = defaultdict(float)

    # --- one batch -------------------------------------------------------------------------------
    def add_batch(self, batch: list[ParsedRecord]) -> None:
        t0 = time.process_time()
        usable = [r for r in batch if r.conversation is not None]
        cookbook_raws = [r for r in batch if _is_openai_record(r)]
        counts = self._count_texts(usable, cookbook_raws)
        t1 = time.process_time()
        for record in batch:
            self.records += 1
            if record.conversation is None:
                self._add_unusable(record)
            else:
                self._add_example(record, record.conversation, counts)
        for record in batch:
            self._add_cookbook(record, counts)
        t2 = time.process_time()
        texts = [_hashed_text(r.conversation) for r in usable if r.conversation is not None]
        if texts:
            self.band_keys.append(minhash_band_keys(texts))
        self.columns.flush()
        self.cookbook_columns.flush()
        t3 = time.process_time()
        self.timings["cpu_tokenize"] += t1 - t0
        self.timings["cpu_examples"] += t2 - t1
        self.timings["cpu_minhash"] += t3 - t2

    def _count_texts(self, usable: list[ParsedRecord], cookbook_raws: list[ParsedRecord]) -> dict[str, int]:
        texts: dict[str, None] = {}
        for record in usable:
            assert record.conversation is not None
            for text in iter_canonical_texts(record.conversation):
                texts[text] = None
        for record in cookbook_raws:
            for text in openai_format.iter_cookbook_texts(record.raw):
                texts[text] = None
        unique = list(texts)
        return dict(zip(unique, self.counter.count_batch(unique), strict=True))

    def _add_unusable(self, record: ParsedRecord) -> None:
        ref: Ref = (record.index, record.line)
        self.unusable.add(ref, self.cap)
        first = record.issues[0] if record.issues else None
        code = first.code if first else "unusable"
        self.unusable_reasons[code] += 1
        if len(self.unusable_details) < self.cap:
            message = first.message if first else "the record could not be converted to a conversation."
            self.unusable_details.append((record.index, record.line, code, message))

    def _add_example(self, record: ParsedRecord, conv: Conversation, counts: dict[str, int]) -> None:
        ref: Ref = (record.index, record.line)
        start = self.writer.write(conv.to_json())
        measured = measure_example(conv, counts, self.max_len)
        for role, tokens in measured.content_by_role.items():
            self.tokens_by_role[role] += tokens
        roles = [m.role for m in conv.messages]
        self.roles.update(roles)
        fingerprint = conversation_fingerprint(conv)
        prompt = prompt_fingerprint(conv)
        pii_kinds = find_pii("\n".join(m.content for m in conv.messages))
        flags = _flags(conv, roles, prompt is not None)
        if measured.total > self.max_len:
            flags |= OVER_LIMIT
        if measured.assistant > 0 and measured.assistant_cut == measured.assistant:
            flags |= ALL_ASSISTANT_CUT
        system_hash = 0
        if flags & HAS_SYSTEM:
            system_text = "\n".join(m.content for m in conv.messages if m.role == "system")
            system_hash = hash_text(system_text)
            if system_hash not in self.system_texts and len(self.system_texts) < MAX_SYSTEM_TEXTS:
                self.system_texts[system_hash] = system_text[:SYSTEM_TEXT_CHARS]
        row = self.columns.pending
        row["local_index"].append(record.index)
        row["line"].append(-1 if record.line is None else record.line)
        row["start"].append(start)
        row["end"].append(self.writer.size)
        row["tokens"].append(measured.total)
        row["assistant_tokens"].append(measured.assistant)
        row["assistant_cut"].append(measured.assistant_cut)
        row["messages"].append(len(conv.messages))
        row["chars"].append(sum(len(m.content) for m in conv.messages))
        row["flags"].append(flags)
        row["fingerprint"].append(fingerprint)
        row["prompt_fingerprint"].append(prompt or 0)
        row["system_hash"].append(system_hash)
        row["format_code"].append(FORMAT_CODES[conv.format])
        firsts = self.format_first.setdefault(conv.format.value, [])
        if len(firsts) < self.cap:
            firsts.append(ref)
        self._add_checks(record, conv, ref, roles, pii_kinds)
        if fingerprint % self.plan.language_modulus == 0:
            self.languages[detect_language(_language_sample(conv))] += 1

    def _add_checks(
        self, record: ParsedRecord, conv: Conversation, ref: Ref, roles: list[str], pii_kinds: set[str]
    ) -> None:
        codes = set(check_conversation(conv, roles, pii_kinds))
        if conv.format is SourceFormat.TEXT:
            codes -= _CHAT_ONLY_CODES  # raw text has no turns to order
        for issue in record.issues:
            codes.add(issue.code)
            self.issue_notes.setdefault(issue.code, issue.message)
        if "secret" in codes:
            self.secret_kinds.update(pii_kinds & SECRET_KINDS)
        for code in sorted(codes):
            self.issues.setdefault(code, RefList()).add(ref, self.cap)

    def _add_cookbook(self, record: ParsedRecord, counts: dict[str, int]) -> None:
        book = self.cookbook
        ref: Ref = (record.index, record.line)
        if not _is_openai_record(record):
            if record.raw is None:
                return  # unreadable (invalid JSON): the cookbook could not have loaded the file at all
            if not isinstance(record.raw, dict):
                book.other_data_type.add(ref, self.cap)
            else:
                book.other_missing_messages.add(ref, self.cap)
            return
        book.validated += 1
        verdict = openai_format.validate_record(record.raw, counts)
        for error in verdict.errors:
            book.errors.setdefault(error, RefList()).add(ref, self.cap)
        if verdict.errors:
            book.records_with_errors.add(ref, self.cap)
        if verdict.num_messages:
            columns = self.cookbook_columns.pending
            columns["num_messages"].append(verdict.num_messages)
            columns["total_tokens"].append(verdict.total_tokens)
            columns["assistant_tokens"].append(verdict.assistant_tokens)
            book.missing_system += not verdict.has_system
            book.missing_user += not verdict.has_user

    # --- the result ------------------------------------------------------------------------------
    def result(self) -> ChunkResult:
        col = self.columns.array
        bands = np.concatenate(self.band_keys) if self.band_keys else np.zeros((0, 0), dtype=np.uint64)
        book = self.cookbook
        book.num_messages = self.cookbook_columns.array("num_messages")
        book.total_tokens = self.cookbook_columns.array("total_tokens")
        book.assistant_tokens = self.cookbook_columns.array("assistant_tokens")
        return ChunkResult(
            chunk_no=self.chunk_no,
            records=self.records,
            canonical_bytes=self.writer.size,
            local_index=col("local_index"),
            line=col("line"),
            start=col("start"),
            end=col("end"),
            tokens=col("tokens"),
            assistant_tokens=col("assistant_tokens"),
            assistant_cut=col("assistant_cut"),
            messages=col("messages"),
            chars=col("chars"),
            flags=col("flags"),
            fingerprint=col("fingerprint"),
            prompt_fingerprint=col("prompt_fingerprint"),
            system_hash=col("system_hash"),
            band_keys=bands,
            format_code=col("format_code"),
            issues=self.issues,
            issue_notes=self.issue_notes,
            unusable=self.unusable,
            unusable_details=self.unusable_details,
            unusable_reasons=self.unusable_reasons,
            roles=self.roles,
            tokens_by_role=self.tokens_by_role,
            secret_kinds=self.secret_kinds,
            languages=self.languages,
            system_texts=self.system_texts,
            format_first=self.format_first,
            cookbook=self.cookbook,
            tokenizer=self.counter.info
            if isinstance(self.counter, TokenCounter)
            else self.counter.counter.info,
            timings=dict(self.timings),
        )


_INT64_COLUMNS = ("local_index", "line", "start", "end", "tokens", "assistant_tokens", "assistant_cut")
_COLUMNS: dict[str, Any] = {
    **dict.fromkeys((*_INT64_COLUMNS, "messages", "chars"), np.int64),
    "flags": np.uint16,
    "fingerprint": np.uint64,
    "prompt_fingerprint": np.uint64,
    "system_hash": np.uint64,
    "format_code": np.int8,
}
_COOKBOOK_COLUMNS: dict[str, Any] = dict.fromkeys(
    ("num_messages", "total_tokens", "assistant_tokens"), np.int64
)
_CHAT_ONLY_CODES = frozenset(
    {"missing_assistant", "missing_user", "assistant_first", "not_ending_with_assistant"}
)


def _is_openai_record(record: ParsedRecord) -> bool:
    if record.conversation is not None:
        return (
            record.conversation.format is SourceFormat.OPENAI
            and isinstance(record.raw, dict)
            and "messages" in record.raw
        )
    return isinstance(record.raw, dict) and "messages" in record.raw


def _flags(conv: Conversation, roles: list[str], has_prompt: bool) -> int:
    flags = 0
    if "system" in roles:
        flags |= HAS_SYSTEM
    if roles.count("user") > 1:
        flags |= MULTI_TURN
    if has_consecutive_same_role(roles):
        flags |= NON_ALTERNATING
    if has_tool_use(conv):
        flags |= TOOL_USE
    if has_json_output(conv):
        flags |= JSON_OUTPUT
    if has_prompt:
        flags |= HAS_PROMPT
    return flags


def _hashed_text(conv: Conversation | None) -> str:
    """What near-duplicate detection compares: the conversation without its system prompt."""
    assert conv is not None
    if any(m.role == "system" for m in conv.messages):
        conv = replace(conv, messages=tuple(m for m in conv.messages if m.role != "system"))
    return conversation_text(conv)


def _language_sample(conv: Conversation) -> str:
    parts: list[str] = []
    size = 0
    for m in conv.messages:
        if m.role in ("user", "assistant") and m.content:
            parts.append(m.content[:SAMPLE_CHARS])
            size += len(parts[-1])
            if size >= SAMPLE_CHARS:
                break
    return " ".join(parts)
