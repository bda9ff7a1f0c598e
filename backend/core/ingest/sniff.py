"""What a file is: compression, encoding, container, or a clear NotADatasetError.

Only the head (1 MiB of decompressed bytes) is read, plus the tail of an uncompressed file
when the head cannot settle the question; a JSON object holding the list is walked only up
to the key that holds it.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import orjson

from backend.core.conversation import SourceFormat
from backend.core.errors import NotADatasetError
from backend.core.ingest.convert import detect_format
from backend.core.ingest.encoding import (
    UndecodableBytesError,
    detect_bom_encoding,
    detect_bomless_utf16,
    detect_encoding,
    iter_text_blocks,
    python_codec,
)
from backend.core.ingest.jsonstream import JsonStructureError, TextBuffer, find_list_key
from backend.core.ingest.record import DEFAULT_OPTIONS, Compression, Container, FileInfo, IngestOptions
from backend.core.ingest.source import (
    CheckedReader,
    DamagedStreamError,
    detect_compression,
    open_binary,
    read_head,
    read_head_after_blank,
    read_tail,
)
from backend.core.ingest.tabular import check_parquet_file, check_tabular_header, is_parquet_head

HEAD_BYTES = 1 << 20
TAIL_BYTES = 64 << 10
LONG_LINE_SCAN = 64 << 20  # how far to look for the end of an over-long first line
EXPORT_HINT = "Export the data as JSON Lines (.jsonl), JSON, CSV/TSV or Parquet and upload that file."
DECOMPRESS_HINT = (
    "Only gzip compression is read: decompress the file (or gzip it instead) and upload it again."
)

# (magic bytes at offset 0, what the file is, what to do)
KNOWN_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (.xlsx and .docx files are ZIP archives too)",
     "Unzip it and upload the dataset file inside, or export a spreadsheet as CSV."),
    (b"PK\x05\x06", "an empty ZIP archive", EXPORT_HINT),
    (b"%PDF-", "a PDF document", EXPORT_HINT),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", EXPORT_HINT),
    (b"\xff\xd8\xff", "a JPEG image", EXPORT_HINT),
    (b"GIF87a", "a GIF image", EXPORT_HINT),
    (b"GIF89a", "a GIF image", EXPORT_HINT),
    (b"RIFF", "a RIFF media file (a WebP image, WAV audio or AVI video)", EXPORT_HINT),
    (b"\xfd7zXZ\x00", "an xz-compressed file", DECOMPRESS_HINT),
    (b"\x28\xb5\x2f\xfd", "a Zstandard-compressed file", DECOMPRESS_HINT),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", DECOMPRESS_HINT),
    (b"Rar!\x1a\x07", "a RAR archive", DECOMPRESS_HINT),
    (b"SQLite format 3\x00", "an SQLite database", EXPORT_HINT),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document (.xls or .doc)", EXPORT_HINT),
    (b"\x7fELF", "an executable program", EXPORT_HINT),
    (b"ARROW1", "an Arrow/Feather file", EXPORT_HINT),
    (b"\x93NUMPY", "a NumPy array file", EXPORT_HINT),
    (b"\x80\x04\x95", "a Python pickle", EXPORT_HINT),
    (b"\x80\x05\x95", "a Python pickle", EXPORT_HINT),
)  # fmt: skip
LFS_PREFIX = b"version https://git-lfs.github.com/spec/"
MERGE_MARKER = re.compile(r"^(<{7}|>{7})(?: |$)", re.M)
HTML_START = re.compile(r"\s*(<!--.*?-->\s*)*<(!doctype html|html|head|body|meta|title)\b", re.I | re.S)
HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
LFS_FIELD = re.compile(rb"^(oid|size) (\S+)$", re.M)


def sniff_file(path: Path, options: IngestOptions = DEFAULT_OPTIONS) -> FileInfo:
    """Identify the file; raises NotADatasetError / UnsupportedEncodingError (core errors)."""
    size = path.stat().st_size
    if size == 0:
        raise NotADatasetError("The file is empty (0 bytes): there is nothing to analyse.", kind="empty")
    compression = detect_compression(path)
    try:
        head, is_complete = read_head(path, compression, HEAD_BYTES)
    except DamagedStreamError as exc:
        raise NotADatasetError(
            f"The file is gzip-compressed, but {exc.reason}; nothing could be read from it.",
            kind="damaged_gzip",
        ) from exc
    if not is_complete and not head.strip(b" \t\r\n"):
        head, is_complete = read_head_after_blank(path, compression, HEAD_BYTES)  # records come later
    if not head:
        raise NotADatasetError(
            "The file is empty once decompressed: there is nothing to analyse.", kind="empty"
        )
    if is_parquet_head(head):
        check_parquet_file(path, compression, options)
        return FileInfo("parquet", compression, "utf-8", None, size, None, False)  # Parquet text is UTF-8
    reject_binary(head, size)
    encoding, note = detect_encoding(head, is_complete)
    text = decode_head(head, encoding, is_complete)
    reject_non_dataset_text(text, path if compression == "none" else None, encoding)
    container, list_key = detect_container(path, compression, encoding, text, is_complete, options)
    chunkable = container == "jsonl" and compression == "none" and encoding in ("utf-8", "utf-8-sig")
    return FileInfo(container, compression, encoding, note, size, list_key, chunkable)


def decode_head(head: bytes, encoding: str, is_complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(python_codec(encoding))(errors="replace")
    text = decoder.decode(head, final=is_complete)
    return text[1:] if text.startswith("\ufeff") else text


def reject_binary(head: bytes, size: int) -> None:
    if head.startswith(LFS_PREFIX):
        fields = {m.group(1).decode(): m.group(2).decode() for m in LFS_FIELD.finditer(head)}
        real_size = fields.get("size", "")
        described = f" of {int(real_size):,} bytes" if real_size.isdigit() else ""
        raise NotADatasetError(
            f"This is a Git LFS pointer file ({size} bytes), not the dataset: the real file{described} "
            f"(oid {fields.get('oid', 'unknown')}) is stored in Git LFS. Run `git lfs pull` in the "
            "repository (or use the hosting site's download button) and upload the real file.",
            kind="git_lfs_pointer",
        )
    for magic, what, hint in KNOWN_MAGIC:
        if head.startswith(magic):
            raise NotADatasetError(f"This file is {what}, not a dataset. {hint}", kind="binary")
    if head.startswith(b"BZh") and head[3:4].isdigit():
        raise NotADatasetError(f"This file is bzip2-compressed. {DECOMPRESS_HINT}", kind="binary")
    if head[257:262] == b"ustar":
        raise NotADatasetError(f"This file is a tar archive, not a dataset. {EXPORT_HINT}", kind="binary")
    if b"\x00" in head and detect_bom_encoding(head) is None and detect_bomless_utf16(head) is None:
        raise NotADatasetError(
            f"This is a binary file (it contains NUL bytes), not a text dataset. {EXPORT_HINT}", kind="binary"
        )


def reject_non_dataset_text(text: str, plain_path: Path | None, encoding: str) -> None:
    stripped = text.strip()
    if not stripped:
        raise NotADatasetError("The file holds only whitespace: there are no records in it.", kind="empty")
    if HTML_START.match(text):
        title = HTML_TITLE.search(text)
        named = f" (titled {' '.join(title.group(1).split())[:80]!r})" if title else ""
        raise NotADatasetError(
            f"This is an HTML web page{named}, not a dataset: probably a web page saved instead of the raw "
            "file. On GitHub or Hugging Face, use the 'Raw' or download link and upload that file.",
            kind="html",
        )
    conflict_line = find_merge_conflict(text)
    if conflict_line is None and plain_path is not None:
        tail = read_tail(plain_path, TAIL_BYTES).decode(python_codec(encoding), errors="replace")
        if find_merge_conflict(tail) is not None:
            conflict_line = 0
    if conflict_line is not None:
        where = f" (first at line {conflict_line})" if conflict_line else " (near the end of the file)"
        raise NotADatasetError(
            "The file contains unresolved Git merge-conflict markers (<<<<<<<, =======, >>>>>>>)"
            f"{where}. Resolve the conflict, keeping one side of each block, and upload the file again.",
            kind="merge_conflict",
        )


def find_merge_conflict(text: str) -> int | None:
    """1-based line of the first conflict marker, when both `<<<<<<<` and `>>>>>>>`/`=======` occur."""
    match = MERGE_MARKER.search(text)
    if match is None or not ("\n=======" in text or "\n>>>>>>>" in text or "<<<<<<<" in text[match.end() :]):
        return None
    return text.count("\n", 0, match.start()) + 1


def detect_container(
    path: Path, compression: Compression, encoding: str, text: str, is_complete: bool, options: IngestOptions
) -> tuple[Container, str | None]:
    stripped = text.lstrip()
    first = stripped[0]
    if is_complete and "".join(stripped.split()) in ("[]", "{}"):
        raise NotADatasetError(
            f"The file holds an empty JSON {'array' if first == '[' else 'object'}: "
            "there are no records in it.",
            kind="empty",
        )
    if first in "[{" and not looks_like_json(stripped):
        first = ""  # e.g. "[Verse 1] ..." is prose that happens to start with a bracket
    if first == "[":
        # One array per line is JSON Lines whose records are not objects: report them line by line.
        return ("jsonl" if is_jsonl_of_arrays(text, is_complete) else "json_array"), None
    if first == "{":
        if is_jsonl(path, compression, encoding, text, is_complete):
            return "jsonl", None
        return "json_object", locate_list_key(path, compression, encoding)
    if first in '"-0123456789tfn' and is_complete and is_json_scalar(stripped):
        raise NotADatasetError(
            "The file holds a single JSON value, not a list of records. A dataset is a JSON array or "
            'JSON Lines file of objects such as {"messages": [...]}.',
            kind="json_scalar",
        )
    if records_follow_a_bad_first_line(text, is_complete):
        return "jsonl", None  # the first line is reported as a record that is not JSON; the rest is read
    tabular = check_tabular_header(text, is_complete, options)
    if tabular is not None:
        return tabular, None
    first_line = stripped.split("\n", 1)[0].strip()
    raise NotADatasetError(
        "This looks like plain text (prose), not a dataset: it is not JSON Lines, JSON, CSV/TSV or Parquet. "
        f"It begins: {first_line[:80]!r}. {EXPORT_HINT}",
        kind="plain_text",
    )


def looks_like_json(text: str) -> bool:
    """Whether what follows an opening bracket could start JSON (a value, a key, or the close)."""
    after = text[1:].lstrip()[:1]
    allowed = '"}' if text[0] == "{" else '{["-0123456789tfn]'
    return after == "" or after in allowed


def is_json_scalar(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def is_jsonl(path: Path, compression: Compression, encoding: str, text: str, is_complete: bool) -> bool:
    """JSON Lines (one object per line) rather than one JSON object spread over the file."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not is_complete and not text.endswith("\n"):
        lines = lines[:-1]  # the head cut the last line short
    if not lines:
        # The first line is longer than the head: JSON Lines if the next line is a record too.
        return is_next_line_an_object(path, compression, encoding)
    parsed = [parses_as_object(line.encode()) for line in lines[:6]]
    if not parsed[0]:
        # A pretty-printed object starts with a bare "{"; a broken first record is followed by good lines
        # (two of them, since a pretty-printed list may hold one whole object on a line).
        return lines[0].strip() != "{" and sum(parsed[1:]) >= 2
    if len(lines) > 1:
        return True
    record = orjson.loads(lines[0])
    return detect_format(record) is not SourceFormat.UNKNOWN or not any(
        isinstance(value, list) and value and isinstance(value[0], dict) for value in record.values()
    )


def records_follow_a_bad_first_line(text: str, is_complete: bool) -> bool:
    """JSON Lines whose first line is not JSON (a title, a note) but whose next lines are records.

    The next line must be a JSON object, and so must at least half of the (up to) five after the first.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if not is_complete and not text.endswith("\n"):
        lines = lines[:-1]  # the head cut the last line short
    following = lines[1:6]
    if not following or parses_as_object(lines[0].encode()) or not parses_as_object(following[0].encode()):
        return False
    return 2 * sum(parses_as_object(line.encode()) for line in following) >= len(following)


def is_next_line_an_object(path: Path, compression: Compression, encoding: str) -> bool:
    """Whether the line after a long first line is a JSON object (looks past at most LONG_LINE_SCAN)."""
    seen = 0
    after: list[str] = []
    with open_binary(path, compression) as stream:
        try:
            for _, block in iter_text_blocks(CheckedReader(stream), encoding):
                if after or (newline := block.find("\n")) >= 0:
                    after.append(block if after else block[newline + 1 :])
                    rest = "".join(after).lstrip()
                    if "\n" in rest or sum(map(len, after)) > TAIL_BYTES:
                        return parses_as_object(rest.split("\n", 1)[0].encode())
                seen += len(block)
                if seen > LONG_LINE_SCAN:
                    return False
        except (DamagedStreamError, UndecodableBytesError):
            return False
    return bool(after) and parses_as_object("".join(after).strip().encode())


def is_jsonl_of_arrays(text: str, is_complete: bool) -> bool:
    lines = [line for line in text.split("\n") if line.strip()]
    if not is_complete and not text.endswith("\n"):
        lines = lines[:-1]
    return len(lines) > 1 and all(parses_as_value(line.encode()) for line in lines[:2])


def parses_as_value(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def parses_as_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def locate_list_key(path: Path, compression: Compression, encoding: str) -> str | None:
    with open_binary(path, compression) as stream:
        buffer = TextBuffer(text for _, text in iter_text_blocks(CheckedReader(stream), encoding))
        try:
            key, found = find_list_key(buffer)
        except (JsonStructureError, DamagedStreamError, UndecodableBytesError):
            return None  # read as one record; the reader reports what is wrong with it
    return key if found else None
