"""Planning byte ranges of a JSON Lines file that workers can read independently."""

from __future__ import annotations

from pathlib import Path

from backend.core.ingest.record import Chunk, FileInfo

SCAN_BYTES = 1 << 20


def plan_chunks(path: Path, info: FileInfo, target_bytes: int = 8 * 1024 * 1024,
                first_bytes: int | None = None) -> list[Chunk]:
    """Ranges of about `target_bytes`, each starting at a line start and ending after a newline (or EOF).

    One pass over the file counts newlines, so each chunk knows its first line number.
    A file that is not chunkable (compressed, non-UTF-8, not JSON Lines) is one chunk. With `first_bytes`, the
    first chunk is only about that long, so the first figures of a large file come in a fraction of a second.
    """
    size = path.stat().st_size
    if not info.chunkable or size <= target_bytes:
        return [Chunk(0, size, 1)]
    lead = min(first_bytes or target_bytes, target_bytes)
    chunks: list[Chunk] = []
    chunk_start, chunk_line = 0, 1
    lines_before = 0  # newlines before the current block
    offset = 0
    with path.open("rb") as f:
        while block := f.read(SCAN_BYTES):
            search_from = max(chunk_start + (target_bytes if chunks else lead) - offset, 0)
            while search_from < len(block):
                newline = block.find(b"\n", search_from)
                if newline < 0:
                    break
                end = offset + newline + 1
                end_line = lines_before + block.count(b"\n", 0, newline + 1) + 1
                if end < size:
                    chunks.append(Chunk(chunk_start, end, chunk_line))
                    chunk_start, chunk_line = end, end_line
                search_from = max(chunk_start + (target_bytes if chunks else lead) - offset, newline + 1)
            lines_before += block.count(b"\n")
            offset += len(block)
    chunks.append(Chunk(chunk_start, size, chunk_line))
    return chunks
