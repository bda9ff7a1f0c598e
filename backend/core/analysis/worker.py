"""analyze_chunk: everything about one chunk of a file, in a worker process.

Records are taken in batches so that memory stays bounded whatever the chunk (a JSON array
is one chunk): each batch is parsed, its distinct texts are counted in one call, each example
is measured and checked into one columns.ExampleRow, and its canonical form is written to the
chunk's store file.
"""

from __future__ import annotations

import ctypes
import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.analysis import openai_format
from backend.core.analysis.batch_checks import BatchStructure, check_batch
from backend.core.analysis.checks import pii_codes
from backend.core.analysis.chunk import ChunkResult, CookbookColumns, ReadStop, RecordList
from backend.core.analysis.columns import (
    ALL_ASSISTANT_CUT,
    CHAT,
    HAS_PROMPT,
    HAS_SYSTEM,
    NOTHING_TRAINED,
    OVER_LIMIT,
    PAIRED,
    UNPAIRED_BAD,
    UNPAIRED_GOOD,
    ColumnBuffer,
    ExampleRow,
)
from backend.core.analysis.fastcount import SegmentCounter, make_fast_counter
from backend.core.analysis.language import SAMPLE_CHARS, detect_language
from backend.core.analysis.measure import Measured, iter_canonical_texts, measure_example
from backend.core.analysis.pii import SECRET_KINDS, find_pii
from backend.core.analysis.plan import FORMAT_CODES, AnalysisPlan
from backend.core.analysis.store import ChunkWriter, chunk_file
from backend.core.conversation import Conversation, SourceFormat, message_to_json
from backend.core.dedup import conversation_fingerprint, conversation_text, minhash_band_keys, prompt_fingerprint
from backend.core.ingest import ParsedRecord, iter_records
from backend.core.tokens import TokenCounter, get_counter

BATCH_RECORDS = 2000
SYSTEM_TEXT_CHARS = 200
MAX_SYSTEM_TEXTS = 1000
_CHAT_ONLY_CODES = frozenset({"missing_assistant", "missing_user", "assistant_first", "not_ending_with_assistant"})


@lru_cache(maxsize=8)
def cached_counter(name: str, allow_download: bool = False) -> TokenCounter:
    """One counter per tokenizer per worker process: loading a vocabulary costs far more than a chunk."""
    return get_counter(name, allow_download=allow_download)


@lru_cache(maxsize=8)
def cached_batch_counter(name: str, allow_download: bool = False) -> TokenCounter | SegmentCounter:
    """The fastest exact way to count a batch with this tokenizer, kept per process with its cache."""
    counter = cached_counter(name, allow_download)
    return make_fast_counter(counter) or counter


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for reuse instead of giving it back at once.

    A chunk allocates and frees numpy arrays of a few MB per batch (segment keys, MinHash bins).
    With glibc's defaults each one is a fresh mmap whose pages the kernel zero-fills on first touch,
    and that page faulting cost as much CPU as the MinHash itself (measured: 0.81 against 0.39
    CPU-s for the same 16k texts). Arrays up to 32 MB now come from the heap, which keeps up to
    256 MB free before trimming: a worker stays at its peak size (~200 MB) between chunks.
    Elsewhere than glibc, nothing changes.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    return all(
        mallopt(option, value) == 1
        for option, value in ((m_mmap_threshold, 32 << 20), (m_trim_threshold, 256 << 20), (m_top_pad, 16 << 20))
    )


def analyze_chunk(plan: AnalysisPlan, chunk_no: int, store_dir: Path) -> ChunkResult:
    """Parse, convert, count, check and store one chunk; return its compact result."""
    keep_freed_memory()
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
        self.counter = cached_batch_counter(plan.options.tokenizer, plan.options.allow_tokenizer_download)
        self.writer = ChunkWriter(chunk_file(store_dir, chunk_no))
        self.records = 0
        self.columns = ColumnBuffer()
        self.cookbook_rows: list[tuple[int, int, int]] = []  # (messages, total, assistant) per validated record
        self.band_keys: list[Any] = []
        self.example_issues: dict[str, list[int]] = {}
        self.issue_notes: dict[str, str] = {}
        self.unusable = RecordList()
        self.unusable_details: list[tuple[int, int | None, str, str]] = []
        self.unusable_reasons: Counter[str] = Counter()
        self.read_stops: list[ReadStop] = []
        self.roles: Counter[str] = Counter()
        self.tokens_by_role: Counter[str] = Counter()
        self.secret_kinds: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.system_texts: dict[int, str] = {}
        self.cookbook = CookbookColumns()
        self.cookbook_errors: dict[str, RecordList] = {}
        self.cookbook_lists = {name: RecordList() for name in ("with_errors", "data_type", "missing_messages")}
        self.timings: defaultdict[str, float] = defaultdict(float)

    # --- one batch -------------------------------------------------------------------------------
    def add_batch(self, batch: list[ParsedRecord]) -> None:
        t0 = time.process_time()
        dicts = [
            [message_to_json(m) for m in r.conversation.messages] if r.conversation is not None else []
            for r in batch
        ]
        plain = [_is_openai_record(r) and _is_plain(r, d) for r, d in zip(batch, dicts, strict=True)]
        counts = self._count_texts(batch, dicts, plain)
        t1 = time.process_time()
        hashed: list[str] = []
        structure = check_batch([r.conversation for r in batch if r.conversation is not None])
        first_position = self.columns.count
        usable = 0
        for record, message_dicts, is_plain in zip(batch, dicts, plain, strict=True):
            if record.ends_reading:
                issue = record.issues[0]
                self.read_stops.append(ReadStop(record.index, record.line, issue.code, issue.message))
                continue
            self.records += 1
            plain_verdict = None
            if record.conversation is None:
                self._add_unusable(record)
            else:
                measured = self._add_example(record, record.conversation, message_dicts, counts, structure, usable)
                if is_plain:  # counted already, by the same formula: the cookbook's figures follow
                    tools = counts[record.conversation.tools] if record.conversation.tools else 0
                    plain_verdict = openai_format.verdict_of_counts(
                        len(message_dicts), structure.unknown_roles[usable], structure.empty_contents[usable],
                        structure.role_counts[usable], measured.total - tools, measured.assistant_content)
                usable += 1
                hashed.append(conversation_text(record.conversation, include_system=False))
            self._add_cookbook(record, counts, plain_verdict)
        chat = np.array([r.conversation.format is not SourceFormat.TEXT for r in batch if r.conversation is not None],
                        dtype=bool)
        for code, mask in structure.codes.items():
            if code in _CHAT_ONLY_CODES:
                mask = mask & chat  # raw text has no turns to order
            found = np.flatnonzero(mask)
            if found.size:
                self.example_issues.setdefault(code, []).extend((found + first_position).tolist())
        t2 = time.process_time()
        if hashed:
            self.band_keys.append(minhash_band_keys(hashed))
        self.columns.flush()
        t3 = time.process_time()
        self.timings["cpu_tokenize"] += t1 - t0
        self.timings["cpu_examples"] += t2 - t1
        self.timings["cpu_minhash"] += t3 - t2

    def _count_texts(
        self, batch: list[ParsedRecord], dicts: list[list[dict[str, Any]]], plain: list[bool]
    ) -> dict[str, int]:
        texts: dict[str, None] = {}
        for record, message_dicts, is_plain in zip(batch, dicts, plain, strict=True):
            if record.conversation is not None:
                texts.update(dict.fromkeys(iter_canonical_texts(record.conversation, message_dicts)))
            if not is_plain and _is_openai_record(record):
                texts.update(dict.fromkeys(openai_format.iter_cookbook_texts(record.raw)))
        unique = list(texts)
        return dict(zip(unique, self.counter.count_batch(unique), strict=True))

    def _add_unusable(self, record: ParsedRecord) -> None:
        self.unusable.add(record.index, record.line)
        first = record.issues[0] if record.issues else None
        code = first.code if first else "unusable"
        self.unusable_reasons[code] += 1
        if len(self.unusable_details) < self.cap:
            message = first.message if first else "the record could not be converted to a conversation."
            self.unusable_details.append((record.index, record.line, code, message))

    def _add_example(
        self, record: ParsedRecord, conv: Conversation, message_dicts: list[dict[str, Any]], counts: dict[str, int],
        structure: BatchStructure, j: int,
    ) -> Measured:
        """One example: its row, its per-example findings (the structural ones come from `structure`,
        row `j`, and are listed for the whole batch by add_batch)."""
        position = self.columns.count
        start = self.writer.write(conv.to_json(message_dicts))
        measured = measure_example(conv, message_dicts, counts, self.max_len)
        self.tokens_by_role.update(measured.by_role)
        self.roles.update([m.role for m in conv.messages])
        fingerprint = conversation_fingerprint(conv)
        prompt = prompt_fingerprint(conv)
        contents = [m.content for m in conv.messages]
        pii_kinds = find_pii("\n".join(contents))
        flags = structure.flags[j] | (HAS_PROMPT if prompt is not None else 0)
        if measured.total > self.max_len:
            flags |= OVER_LIMIT
        if measured.assistant > 0 and measured.assistant_cut == measured.assistant:
            flags |= ALL_ASSISTANT_CUT
        if measured.untrained_assistant_turns:
            flags |= NOTHING_TRAINED
        system_hash = 0
        if flags & HAS_SYSTEM:
            system_text = "\n".join(m.content for m in conv.messages if m.role == "system")
            system_hash = hash_text(system_text)
            if system_hash not in self.system_texts and len(self.system_texts) < MAX_SYSTEM_TEXTS:
                self.system_texts[system_hash] = system_text[:SYSTEM_TEXT_CHARS]
        self.columns.add(
            ExampleRow(  # positional, in ExampleRow's order: keywords cost a tenth of this method's time
                record.index,
                -1 if record.line is None else record.line,
                start,
                self.writer.size,
                measured.total,
                measured.assistant,
                measured.assistant_cut,
                len(conv.messages),
                structure.chars[j],
                flags,
                fingerprint,
                prompt or 0,
                system_hash,
                FORMAT_CODES[conv.format],
                _preference_code(conv),
            )
        )
        codes = set(pii_codes(pii_kinds)) if pii_kinds else set()
        if measured.untrained_assistant_turns:
            codes.add("nothing_trained")
        for issue in record.issues:
            self.issue_notes.setdefault(issue.code, issue.message)
            if issue.code not in structure.codes:  # those (unknown_role) are listed for the batch
                codes.add(issue.code)
        if "secret" in codes:
            self.secret_kinds.update(pii_kinds & SECRET_KINDS)
        for code in codes:
            self.example_issues.setdefault(code, []).append(position)
        if fingerprint % self.plan.language_modulus == 0:
            self.languages[detect_language(_language_sample(conv))] += 1
        return measured

    def _add_cookbook(
        self, record: ParsedRecord, counts: dict[str, int], plain_verdict: openai_format.CookbookRecord | None
    ) -> None:
        book = self.cookbook
        if not _is_openai_record(record):
            if record.raw is None:
                return  # unreadable (invalid JSON): the cookbook could not have loaded the file at all
            key = "data_type" if not isinstance(record.raw, dict) else "missing_messages"
            self.cookbook_lists[key].add(record.index, record.line)
            return
        book.validated += 1
        if "messages" not in record.raw:
            book.messages_under_conversations += 1
        verdict = plain_verdict or openai_format.validate_record(record.raw, counts)
        for error in verdict.errors:
            self.cookbook_errors.setdefault(error, RecordList()).add(record.index, record.line)
        if verdict.errors:
            self.cookbook_lists["with_errors"].add(record.index, record.line)
        if verdict.num_messages:
            self.cookbook_rows.append((verdict.num_messages, verdict.total_tokens, verdict.assistant_tokens))
            book.missing_system += not verdict.has_system
            book.missing_user += not verdict.has_user

    # --- the result ------------------------------------------------------------------------------
    def result(self) -> ChunkResult:
        columns = self.columns.arrays()
        bands = np.concatenate(self.band_keys) if self.band_keys else np.zeros((0, 0), dtype=np.uint64)
        book = self.cookbook
        rows = np.array(self.cookbook_rows, dtype=np.int64).reshape(-1, 3)
        book.num_messages, book.total_tokens, book.assistant_tokens = rows[:, 0], rows[:, 1], rows[:, 2]
        book.errors = {code: refs.pairs() for code, refs in self.cookbook_errors.items()}
        book.records_with_errors = self.cookbook_lists["with_errors"].pairs()
        book.other_data_type = self.cookbook_lists["data_type"].pairs()
        book.other_missing_messages = self.cookbook_lists["missing_messages"].pairs()
        counter = self.counter
        return ChunkResult(
            chunk_no=self.chunk_no,
            records=self.records,
            canonical_bytes=self.writer.size,
            columns=columns,
            band_keys=bands,
            example_issues={code: np.array(p, dtype=np.int64) for code, p in self.example_issues.items()},
            issue_notes=self.issue_notes,
            unusable=self.unusable.pairs(),
            unusable_details=self.unusable_details,
            unusable_reasons=self.unusable_reasons,
            read_stops=self.read_stops,
            roles=self.roles,
            tokens_by_role=self.tokens_by_role,
            secret_kinds=self.secret_kinds,
            languages=self.languages,
            system_texts=self.system_texts,
            cookbook=book,
            tokenizer=counter.info if isinstance(counter, TokenCounter) else counter.counter.info,
            timings=dict(self.timings),
        )


def _is_openai_record(record: ParsedRecord) -> bool:
    """Whether the cookbook would read this record: OpenAI messages (under `messages`, or under
    `conversations`, which it would refuse by name: see openai_format)."""
    raw = record.raw
    if record.conversation is not None:
        return record.conversation.format is SourceFormat.OPENAI and isinstance(raw, dict)
    return isinstance(raw, dict) and "messages" in raw


def _is_plain(record: ParsedRecord, message_dicts: list[dict[str, Any]]) -> bool:
    """An OpenAI record whose messages are exactly their canonical {"role", "content"} form."""
    raw = record.raw
    return (
        isinstance(raw, dict)
        and all(len(m) == 2 for m in message_dicts)
        and raw.get("messages") == message_dicts
    )


def _preference_code(conv: Conversation) -> int:
    pref = conv.preference
    if pref is None:
        return CHAT
    if pref.kind == "paired":
        return PAIRED
    return UNPAIRED_GOOD if pref.label else UNPAIRED_BAD


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
