"""Ingest: bytes -> decoded text -> records -> canonical Conversations.

    sniff_file(path, options)              -> FileInfo (container, compression, encoding, ...)
    plan_chunks(path, info, target_bytes)  -> [Chunk] byte ranges of a JSON Lines file
    iter_records(path, info, chunk, opts)  -> ParsedRecord per record (streamed; bad ones included)
    to_conversation(raw, index=, line=)    -> (Conversation | None, issues) for one parsed record
    detect_format(raw)                     -> SourceFormat of one record

Record numbers: `index` (on ParsedRecord, Conversation and RecordIssue) counts from 0 within
the chunk read, so a caller that reads several chunks adds the records of the earlier chunks
(`dataclasses.replace`); `line` is always the file's own 1-based line number. A TEXT record
({"text": ...}) becomes one message of role "user" holding the raw text.

A file that is not a dataset at all (Git LFS pointer, HTML page, merge conflict, prose, a
binary file, an empty file) raises one NotADatasetError from `sniff_file`; everything wrong
inside a dataset comes back as RecordIssues on the records.
"""

from backend.core.ingest.chunk import plan_chunks
from backend.core.ingest.convert import detect_format, to_conversation
from backend.core.ingest.reader import iter_records
from backend.core.ingest.record import (
    MAPPABLE_FIELDS,
    Chunk,
    Compression,
    Container,
    FileInfo,
    IngestOptions,
    ParsedRecord,
)
from backend.core.ingest.sniff import sniff_file

__all__ = [
    "MAPPABLE_FIELDS",
    "Chunk",
    "Compression",
    "Container",
    "FileInfo",
    "IngestOptions",
    "ParsedRecord",
    "detect_format",
    "iter_records",
    "plan_chunks",
    "sniff_file",
    "to_conversation",
]
