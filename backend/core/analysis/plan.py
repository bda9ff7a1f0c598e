"""What to analyse and how: the options, and the plan (file facts + chunks) every worker receives."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from backend.core.conversation import SourceFormat
from backend.core.errors import InvalidInputError
from backend.core.ingest import Chunk, FileInfo, IngestOptions, plan_chunks, sniff_file

FORMATS: tuple[SourceFormat, ...] = tuple(SourceFormat)
FORMAT_CODES: dict[SourceFormat, int] = {f: i for i, f in enumerate(FORMATS)}

# Language detection looks at every example of a small file and at about this many of a large one.
LANGUAGE_SAMPLE_TARGET = 5000
ALL_LANGUAGES_BELOW_BYTES = 4 * 1024 * 1024
ESTIMATED_BYTES_PER_RECORD = 600


@dataclass(frozen=True)
class AnalysisOptions:
    max_seq_length: int = 2048
    tokenizer: str = "cl100k_base"
    ingest: IngestOptions = field(default_factory=IngestOptions)
    chunk_bytes: int = 4 * 1024 * 1024
    first_chunk_bytes: int = 512 * 1024  # a small first chunk: the first figures of a large file come early
    max_examples_listed: int = 20  # record numbers listed per issue / group lists; counts are never capped
    # Whether a Hugging Face repo id may download its tokenizer (off: the local cache, else an estimate).
    allow_tokenizer_download: bool = False

    def __post_init__(self) -> None:
        if self.max_seq_length < 1:
            raise InvalidInputError(
                "max_seq_length must be a positive number of tokens.", field="max_seq_length"
            )
        if self.chunk_bytes < 1:
            raise InvalidInputError("chunk_bytes must be positive.", field="chunk_bytes")
        if self.max_examples_listed < 0:
            raise InvalidInputError("max_examples_listed must not be negative.", field="max_examples_listed")


@dataclass(frozen=True)
class AnalysisPlan:
    """Everything a worker needs for any chunk; small and picklable."""

    path: Path
    options: AnalysisOptions
    info: FileInfo
    chunks: tuple[Chunk, ...]
    language_modulus: int  # an example's language is detected when fingerprint % modulus == 0


def plan_analysis(path: Path, options: AnalysisOptions) -> AnalysisPlan:
    """Sniff the file and split it into chunks; raises NotADatasetError, UnsupportedEncodingError…"""
    info = sniff_file(path, options.ingest)
    chunks = tuple(plan_chunks(path, info, options.chunk_bytes, options.first_chunk_bytes))
    limit = options.ingest.max_records
    if len(chunks) > 1 and limit is not None and may_hold_more_lines_than(path, limit):
        # Each chunk's reader only knows its own records, so the record limit could not hold for the
        # whole file: read it in one pass instead, which stops (and says so) at the limit.
        chunks = tuple(plan_chunks(path, info, info.size_bytes + 1))
    return AnalysisPlan(path, options, info, chunks, language_modulus(info.size_bytes))


def may_hold_more_lines_than(path: Path, limit: int) -> bool:
    """Whether the file has more than `limit` lines (an upper bound on its JSONL records)."""
    if path.stat().st_size < 2 * limit:  # every record takes at least two bytes ("{}" and more)
        return False
    lines = 0
    with open(path, "rb") as f:
        while block := f.read(8 * 1024 * 1024):
            lines += block.count(b"\n")
            if lines > limit:
                return True
    return lines + 1 > limit


def language_modulus(size_bytes: int) -> int:
    """1 (every example) for small files; for large ones, so that ~LANGUAGE_SAMPLE_TARGET are looked at.

    The sample is chosen by conversation fingerprint, not by position, so chunked and single-pass
    analyses of one file look at the very same examples.
    """
    if size_bytes <= ALL_LANGUAGES_BELOW_BYTES:
        return 1
    estimated_records = size_bytes / ESTIMATED_BYTES_PER_RECORD
    return max(1, math.ceil(estimated_records / LANGUAGE_SAMPLE_TARGET))
