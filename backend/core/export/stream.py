"""Exports as streams of bytes: one example per line, optionally gzipped, read from the store as it goes.

Memory stays bounded whatever the dataset: examples are read a batch at a time and the output is
handed on in blocks of about BLOCK_BYTES.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from backend.core.analysis.store import count_examples, read_examples
from backend.core.errors import InvalidInputError
from backend.core.export.formats import ALWAYS_CARRIED, CONVERTERS, CannotCarry, Example, ExportFormat

BLOCK_BYTES = 64 * 1024
BATCH = 2000
MAX_LISTED = 20


def parse_format(name: str) -> ExportFormat:
    try:
        return ExportFormat(name)
    except ValueError:
        choices = ", ".join(f.value for f in ExportFormat)
        raise InvalidInputError(f"Unknown export format {name!r}; choose one of {choices}.", field="format",
                                choices=[f.value for f in ExportFormat]) from None


def iter_store(store_dir: Path) -> Iterator[tuple[int, Example]]:
    """(record number, canonical example) for every stored example, in file order."""
    total = count_examples(store_dir)
    for start in range(0, total, BATCH):
        for stored in read_examples(store_dir, start, BATCH):
            example: Example = {"messages": stored.messages}
            if stored.tools is not None:
                example["tools"] = stored.tools
            yield stored.index, example


def check_export(examples: Iterable[tuple[int, Example]], fmt: ExportFormat) -> None:
    """Raise one clear error listing the examples `fmt` cannot carry (the first few, and how many)."""
    if fmt in ALWAYS_CARRIED:
        return
    convert = CONVERTERS[fmt]
    refused: list[dict[str, object]] = []
    count = 0
    for record, example in examples:
        try:
            convert(example)
        except CannotCarry as exc:
            count += 1
            if len(refused) < MAX_LISTED:
                refused.append({"index": record, "reason": exc.reason})
    if count:
        first = refused[0]
        raise InvalidInputError(
            f"{count:,} examples cannot be written as {fmt.value} (record {first['index']}: {first['reason']}). "
            "Export as canonical or openai, which carry every example, or leave these examples out first.",
            code="format_cannot_carry", format=fmt.value, count=count, examples=refused)


def export_lines(examples: Iterable[tuple[int, Example]], fmt: ExportFormat) -> Iterator[bytes]:
    """One JSON line per example, in blocks. An example the format cannot carry raises InvalidInputError."""
    convert = CONVERTERS[fmt]
    block = bytearray()
    for record, example in examples:
        try:
            block += orjson.dumps(convert(example))
        except CannotCarry as exc:
            raise InvalidInputError(f"Record {record} cannot be written as {fmt.value}: {exc.reason}.",
                                    code="format_cannot_carry", format=fmt.value, index=record) from None
        block += b"\n"
        if len(block) >= BLOCK_BYTES:
            yield bytes(block)
            block.clear()
    if block:
        yield bytes(block)


def gzip_blocks(blocks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """The blocks as one gzip stream (a .gz file), compressed as they come."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    for block in blocks:
        out = compressor.compress(block)
        if out:
            yield out
    yield compressor.flush()


def export_store(store_dir: Path, fmt: ExportFormat, *, gzip: bool = False) -> Iterator[bytes]:
    """The whole stored dataset in `fmt`, as bytes to write or send. Call check_export first for a clear
    error before any byte goes out (this stream can only fail in the middle)."""
    blocks = export_lines(iter_store(store_dir), fmt)
    return gzip_blocks(blocks) if gzip else blocks


def export_filename(stem: str, fmt: ExportFormat, *, gzip: bool = False) -> str:
    """A download name: `<stem>.<format>.jsonl[.gz]`, the stem cut before its extension.

    >>> export_filename("chats.json", ExportFormat.SHAREGPT, gzip=True)
    'chats.sharegpt.jsonl.gz'
    """
    base = stem.split(".", 1)[0] if not stem.startswith(".") else stem.lstrip(".")
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in base)[:80] or "dataset"
    return f"{cleaned}.{fmt.value}.jsonl" + (".gz" if gzip else "")
