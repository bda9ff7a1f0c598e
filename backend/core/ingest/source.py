"""Opening a dataset file as a byte stream, gzip or not (decided by magic bytes, not the name)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

from backend.core.errors import PayloadTooLargeError
from backend.core.ingest.record import Compression

GZIP_MAGIC = b"\x1f\x8b"


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def detect_compression(path: Path) -> Compression:
    with path.open("rb") as f:
        return "gzip" if f.read(2) == GZIP_MAGIC else "none"


def open_binary(path: Path, compression: Compression) -> BinaryIO:
    """The file's (decompressed) bytes as a stream; the caller closes it."""
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_head(path: Path, compression: Compression, size: int) -> tuple[bytes, bool]:
    """Up to `size` decompressed bytes from the start, and whether that is the whole content.

    A damaged gzip stream yields what could be read (the record reader reports the damage);
    small reads keep most of it, since gzip drops the piece it was decompressing when it fails.
    """
    pieces: list[bytes] = []
    got = 0
    with open_binary(path, compression) as stream:
        reader = CheckedReader(stream)
        try:
            while got < size:
                piece = reader.read(min(64 * 1024, size - got))
                if not piece:
                    return b"".join(pieces), True
                pieces.append(piece)
                got += len(piece)
            return b"".join(pieces), not reader.read(1)
        except DamagedStreamError:
            if not pieces:
                raise
            return b"".join(pieces), True


def read_head_after_blank(path: Path, compression: Compression, size: int) -> tuple[bytes, bool]:
    """Like read_head, but from the first byte that is not ASCII whitespace (blank lines, spaces).

    For files that open with more blank lines than a head holds: their records come later.
    """
    pieces: list[bytes] = []
    got = 0
    with open_binary(path, compression) as stream:
        reader = CheckedReader(stream)
        while got < size:
            piece = reader.read(1024 * 1024)
            if not piece:
                return b"".join(pieces), True
            if not pieces:
                piece = piece.lstrip(b" \t\r\n")
                if not piece:
                    continue
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)[:size], False


def read_tail(path: Path, size: int) -> bytes:
    """The last `size` bytes of an uncompressed file."""
    with path.open("rb") as f:
        f.seek(0, 2)
        end = f.tell()
        f.seek(max(0, end - size))
        return f.read()


class DamagedStreamError(Exception):
    """The compressed stream is cut short or corrupt; `offset` counts decompressed bytes read."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


GZIP_PIECE = 64 * 1024  # gzip loses the piece it was decompressing when the stream breaks: keep it small


class CheckedReader:
    """A read() wrapper that turns gzip/zlib failures into DamagedStreamError.

    A gzip stream is read in small pieces, and when it breaks the pieces read before the damage
    are returned first; the error comes with the next read. So a cut-off download still yields
    every record up to the cut.
    """

    __slots__ = ("stream", "offset", "limit", "pending", "in_pieces")

    def __init__(self, stream: BinaryIO, limit: int | None = None) -> None:
        self.stream = stream
        self.offset = 0
        self.limit = limit  # most decompressed bytes allowed (gzip); None: no limit
        self.pending: DamagedStreamError | None = None
        self.in_pieces = isinstance(stream, gzip.GzipFile)

    def read(self, size: int) -> bytes:
        if self.pending is not None:
            raise self.pending
        pieces: list[bytes] = []
        got = 0
        while True:
            try:
                piece = self.stream.read(min(GZIP_PIECE, size - got) if self.in_pieces else size)
            except (EOFError, OSError, zlib.error) as exc:
                error = DamagedStreamError(self.offset + got, describe_damage(exc))
                if not pieces:
                    raise error from exc
                self.pending = error
                break
            pieces.append(piece)
            got += len(piece)
            if not self.in_pieces or not piece or got >= size:
                break
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self.offset += len(data)
        if self.limit is not None and self.offset > self.limit:
            raise PayloadTooLargeError(
                f"The gzip file expands to more than {self.limit:,} bytes, the most this server analyses. "
                "Upload a smaller file, or split the data into several files.",
                code="decompressed_too_large", limit_bytes=self.limit)
        return data


def decompressed_limit(compression: Compression, max_decompressed_bytes: int | None) -> int | None:
    return max_decompressed_bytes if compression == "gzip" else None


def describe_damage(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the gzip file ends before its compressed data does (an incomplete download or copy?)"
    return f"the gzip data is corrupt ({exc})"
