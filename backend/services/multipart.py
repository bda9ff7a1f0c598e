"""Streams a multipart upload's `file` part straight to disk, hashing and counting as it goes.

Starlette's form parser spools uploads to a temporary file first; for datasets of a gigabyte that is a
second full copy and no early size check. Here the size limit is enforced while bytes arrive.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from backend.core.errors import InvalidInputError, PayloadTooLargeError


@dataclass
class ReceivedFile:
    filename: str
    size: int
    sha256: str


class _FilePartWriter:
    def __init__(self, target: Path, max_bytes: int) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.filename: str | None = None
        self.size = 0
        self.sha = hashlib.sha256()
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file_part = False
        self._seen_file_part = False
        self.file_complete = False  # the file part reached its closing boundary
        self._out: BinaryIO | None = None

    # --- parser callbacks ---
    def on_part_begin(self) -> None:
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = b""
        self._value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        self._in_file_part = name == "file" and not self._seen_file_part
        if self._in_file_part:
            self._seen_file_part = True
            self.filename = params.get(b"filename", b"").decode("utf-8", "replace")
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(self.target, "wb")  # noqa: SIM115 - closed in on_part_end / close()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file_part or self._out is None:
            return
        piece = data[start:end]
        self.size += len(piece)
        if self.size > self.max_bytes:
            raise PayloadTooLargeError(
                f"The file is larger than this server's upload limit of {self.max_bytes:,} bytes. "
                "Split it, compress it with gzip, or ask the operator to raise MAX_UPLOAD_BYTES.",
                limit_bytes=self.max_bytes,
            )
        self.sha.update(piece)
        self._out.write(piece)

    def on_part_end(self) -> None:
        if self._in_file_part and self._out is not None:
            self._out.close()
            self._out = None
            self.file_complete = True
        self._in_file_part = False

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    @property
    def got_file(self) -> bool:
        return self._seen_file_part


async def receive_file_part(content_type: str | None, body: AsyncIterator[bytes], target: Path,
                            max_bytes: int) -> ReceivedFile:
    """Write the multipart field `file` of a request body to `target`; return what was received."""
    mime, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise InvalidInputError(
            "Send the dataset as multipart/form-data with the file in a field named 'file' "
            "(e.g. curl -F file=@data.jsonl http://127.0.0.1:8000/upload).", code="not_multipart")
    writer = _FilePartWriter(target, max_bytes)
    callbacks = {name: getattr(writer, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end")}
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except (PayloadTooLargeError, OSError):  # too large, or the disk failed: not the client's format
        writer.close()
        target.unlink(missing_ok=True)
        raise
    except Exception as exc:  # the multipart library raises its own errors for malformed bodies
        writer.close()
        target.unlink(missing_ok=True)
        raise InvalidInputError(f"The upload could not be read as multipart/form-data: {exc}",
                                code="malformed_upload") from exc
    finally:
        writer.close()
    if not writer.got_file:
        target.unlink(missing_ok=True)
        raise InvalidInputError("No file received: put the dataset in a form field named 'file'.",
                                code="missing_file")
    if not writer.file_complete:
        target.unlink(missing_ok=True)
        raise InvalidInputError("The upload was cut short: the file's data ended before its closing boundary. "
                                "Send it again (a dropped connection or a proxy limit can cause this).",
                                code="malformed_upload")
    if writer.size == 0:
        target.unlink(missing_ok=True)
        raise InvalidInputError("The uploaded file is empty (0 bytes). Choose the dataset file itself.",
                                code="empty_file")
    return ReceivedFile(filename=writer.filename or "", size=writer.size, sha256=writer.sha.hexdigest())
