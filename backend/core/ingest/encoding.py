"""Which text encoding a file uses, and decoding its bytes as a stream of text blocks.

UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such. Anything else is
detected from the head with charset-normalizer and reported in `FileInfo.encoding_note`;
bytes that no encoding explains are refused with the offset of the first bad byte.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import charset_normalizer

from backend.core.errors import UnsupportedEncodingError
from backend.core.ingest.source import Readable

UTF8_BOM = codecs.BOM_UTF8
UTF16_LE_BOM = codecs.BOM_UTF16_LE
UTF16_BE_BOM = codecs.BOM_UTF16_BE

# When charset-normalizer offers several plausible encodings for a short sample, the one
# people actually save files in wins; its own ranking often picks a rare cousin (cp1257
# for French cp1252 text, mac_cyrillic for cp1251).
COMMON_LEGACY_ENCODINGS = (
    "cp1252", "cp1251", "cp1250", "cp932", "shift_jis", "gb18030", "gbk", "big5", "euc_kr",
    "euc_jp", "cp1253", "cp1254", "cp1256", "cp1255", "koi8_r", "latin_1", "iso8859_15",
)  # fmt: skip
CHAOS_TOLERANCE = 0.15


class UndecodableBytesError(Exception):
    """Raised while streaming when bytes past the sniffed head fail to decode."""

    def __init__(self, offset: int, encoding: str) -> None:
        super().__init__(f"undecodable bytes at offset {offset}")
        self.offset = offset
        self.encoding = encoding


def detect_bom_encoding(head: bytes) -> str | None:
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    if head.startswith(UTF16_LE_BOM):
        return "utf-16-le"
    if head.startswith(UTF16_BE_BOM):
        return "utf-16-be"
    return None


def detect_bomless_utf16(head: bytes) -> str | None:
    """UTF-16 written without a BOM: ASCII-heavy text leaves a NUL in every other byte."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.3 * half and even_nuls < 0.02 * half:
        return "utf-16-le"
    if even_nuls > 0.3 * half and odd_nuls < 0.02 * half:
        return "utf-16-be"
    return None


def first_utf8_error(data: bytes, is_complete: bool) -> int | None:
    """Offset of the first byte that is not UTF-8, ignoring a sequence cut by the end of a head."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=is_complete)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def has_utf8_multibyte(data: bytes) -> bool:
    """Whether some non-ASCII text in `data` is valid UTF-8 (then stray bytes may be damage, not cp1252)."""
    text = data.decode("utf-8", errors="replace")
    return any(ord(ch) > 127 and ch != "\ufffd" for ch in text)


def looks_like_damaged_utf8(data: bytes) -> bool:
    """Mostly valid UTF-8 with a few bad bytes (damage), rather than text in another encoding.

    A legacy multi-byte encoding (GBK, Big5, Shift-JIS...) also forms valid UTF-8 sequences now and
    then by accident, but far fewer than the sequences it breaks; damaged UTF-8 is the other way round.
    """
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    return good >= bad


def decodes_cleanly(data: bytes, encoding: str, is_complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(data, final=is_complete)
    except UnicodeDecodeError:
        return False
    return True


def choose_legacy_encoding(head: bytes) -> str | None:
    matches = list(charset_normalizer.from_bytes(head))
    if not matches:
        return None
    best_chaos = min(m.chaos for m in matches)
    plausible = [codecs.lookup(m.encoding).name for m in matches if m.chaos <= best_chaos + CHAOS_TOLERANCE]
    chosen = next((e for e in COMMON_LEGACY_ENCODINGS if codecs.lookup(e).name in plausible), plausible[0])
    # cp1252 is what Windows saves Western text in; when it reads the bytes the same way, name it.
    if chosen != "cp1252" and decodes_same(head, chosen, "cp1252"):
        chosen = "cp1252"
    return codecs.lookup(chosen).name


def decodes_same(data: bytes, first: str, second: str) -> bool:
    try:
        return data.decode(first) == data.decode(second)
    except UnicodeDecodeError:
        return False


def detect_encoding(head: bytes, is_complete: bool) -> tuple[str, str | None]:
    """(encoding, note) for a file whose first bytes are `head`; raises UnsupportedEncodingError."""
    bom = detect_bom_encoding(head)
    if bom is not None:
        return bom, None
    bomless = detect_bomless_utf16(head)
    if bomless is not None:
        label = "UTF-16 LE" if bomless.endswith("le") else "UTF-16 BE"
        return bomless, f"Decoded as {label} without a byte-order mark (detected); please save as UTF-8."
    error_at = first_utf8_error(head, is_complete)
    if error_at is None:
        return "utf-8", None
    damaged = has_utf8_multibyte(head) and looks_like_damaged_utf8(head)
    legacy = None if damaged else choose_legacy_encoding(head)
    if legacy is not None and decodes_cleanly(head, legacy, is_complete):
        return legacy, f"Decoded as {legacy} (detected); please save as UTF-8."
    if legacy is not None:
        raise UnsupportedEncodingError(
            f"The file is not valid UTF-8; it looks like {legacy}, but some bytes do not fit that encoding "
            f"either (the first byte that is not UTF-8, 0x{head[error_at]:02x}, is at byte offset {error_at}). "
            f"Convert it to UTF-8 (for example `iconv -f {legacy} -t UTF-8 in.jsonl > out.jsonl`, or "
            "'Save as UTF-8' in an editor) and upload it again.",
            offset=error_at,
            guessed_encoding=legacy,
        )
    raise UnsupportedEncodingError(
        f"The file is not valid UTF-8 and no other text encoding explains it: the first undecodable "
        f"byte (0x{head[error_at]:02x}) is at byte offset {error_at}. "
        "Save the file as UTF-8 and upload it again.",
        offset=error_at,
    )


def python_codec(encoding: str) -> str:
    """The codec used for streaming: a BOM is stripped by the reader, so plain codecs suffice."""
    return "utf-8" if encoding == "utf-8-sig" else encoding


def iter_text_blocks(
    stream: Readable, encoding: str, block_bytes: int = 1 << 20, limit: int | None = None
) -> Iterator[tuple[int, str]]:
    """(byte offset of the block, decoded text) pairs; a leading BOM is dropped.

    Raises UndecodableBytesError with the absolute offset (relative to where reading started)
    of the first byte that fails to decode.
    """
    decoder = codecs.getincrementaldecoder(python_codec(encoding))()
    offset = 0
    first = True
    remaining = limit
    while True:
        size = block_bytes if remaining is None else min(block_bytes, remaining)
        data = stream.read(size) if size > 0 else b""
        final = not data
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the previous block
        try:
            text = decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            raise UndecodableBytesError(offset - pending + exc.start, encoding) from exc
        if first and text.startswith("\ufeff"):
            text = text[1:]
        first = first and not text
        if text:
            yield offset, text
        if final:
            return
        offset += len(data)
        if remaining is not None:
            remaining -= len(data)
