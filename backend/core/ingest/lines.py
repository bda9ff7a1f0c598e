"""Splitting a stream of blocks into lines without ever holding an over-long line whole."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import AnyStr, Generic, NamedTuple


class Line(NamedTuple, Generic[AnyStr]):
    offset: int  # position of the line's first byte/character, counted from the first block
    text: AnyStr | None  # without its newline; None when longer than the limit (then never kept)
    length: int  # length without the newline
    terminated: bool  # False for a last line with no newline after it


def split_lines(blocks: Iterable[AnyStr], newline: AnyStr, max_length: int) -> Iterator[Line[AnyStr]]:
    """Every physical line of the concatenated blocks, blank ones included, in order."""
    parts: list[AnyStr] = []  # pieces of the unfinished line, when it spans blocks
    held = 0  # length of the unfinished line so far
    too_long = False  # the unfinished line is past the limit: its text is being discarded
    line_start = 0
    position = 0  # offset of the current block
    for block in blocks:
        start = 0
        while (end := block.find(newline, start)) >= 0:
            length = held + end - start
            if too_long or length > max_length:
                yield Line(line_start, None, length, True)
            elif parts:
                parts.append(block[start:end])
                yield Line(line_start, newline[:0].join(parts), length, True)
            else:
                yield Line(line_start, block[start:end], length, True)
            parts, held, too_long = [], 0, False
            start = end + 1
            line_start = position + start
        if start < len(block):
            held += len(block) - start
            too_long = too_long or held > max_length
            if too_long:
                parts = []
            else:
                parts.append(block[start:])
        position += len(block)
    if held:
        text = None if too_long else newline[:0].join(parts)
        yield Line(line_start, text, held, False)
