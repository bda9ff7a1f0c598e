"""Streaming the elements of a JSON array (top-level, or under one key of a top-level object).

Memory stays bounded by the largest element: text arrives in blocks, each element is parsed
with the C-accelerated `json.JSONDecoder.raw_decode` straight from the buffer, and only when
that fails does a small bracket scanner find where the element ends, so one broken element
is reported and the next one still read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

I64_MIN, U64_MAX = -(2**63), 2**64 - 1


def parse_int_like_orjson(text: str) -> int | float:
    """Integers beyond 64 bits become floats, as orjson (the JSON Lines parser) makes them."""
    value = int(text)
    return value if I64_MIN <= value <= U64_MAX else float(value)


def parse_float_like_orjson(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# The stdlib decoder finds where each element ends (orjson cannot parse from an offset); its
# hooks make the values match what orjson gives for the same text in a JSON Lines file.
DECODER = json.JSONDecoder(
    parse_int=parse_int_like_orjson, parse_float=parse_float_like_orjson, parse_constant=reject_constant
)
STRUCTURAL = re.compile(r'["\[\]{},]')
STRING_SPECIAL = re.compile(r'["\\]')
SCALAR_TAIL = re.compile(r"[0-9.eE+\-a-zA-Z]*")  # characters that could still continue a number or literal
STRING_TAIL = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # the rest of a string after its opening quote
WHITESPACE = re.compile(r"[ \t\r\n]*")
# Keys whose list makes a top-level object one record rather than a holder of records.
RECORD_LIST_KEYS = frozenset(
    {"messages", "conversations", "chosen", "rejected", "prompt", "completion", "history", "tools"}
)


VALUE_STARTS = frozenset('{["')  # what can only start a new record (an object, a list, a string)


class JsonStructureError(Exception):
    """The text is not the JSON shape expected (e.g. no array where one should start)."""


@dataclass(slots=True)
class Element:
    """One array element: its parsed value, or the reason it could not be parsed."""

    value: Any
    error: str | None
    first_line: int  # 1-based line where the element's text starts, for messages
    size: int  # characters of element text
    truncated: bool = False  # the text ends inside this element (or before the array closes)
    comma_missing: bool = False  # the element followed the previous one without a comma between them


class TextBuffer:
    """A growing window over decoded text blocks, with line counting for messages."""

    def __init__(self, blocks: Iterator[str]) -> None:
        self.blocks = blocks
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line_pos = 0  # buffer index up to which newlines are counted
        self.line_number = 1  # 1-based line number at `line_pos`

    def fill(self) -> bool:
        """Append the next block (dropping consumed text first); False at the end of the text."""
        if self.eof:
            return False
        block = next(self.blocks, None)
        if block is None:
            self.eof = True
            return False
        if self.pos > 0:
            self.line_at(self.pos)
            self.buf = self.buf[self.pos :]
            self.pos = 0
            self.line_pos = 0
        self.buf += block
        return True

    def grow(self) -> bool:
        """Read on until the unconsumed text has doubled (or the text ends); False if nothing came.

        Doubling keeps a record that spans many blocks from being re-parsed once per block.
        """
        wanted = 2 * max(len(self.buf) - self.pos, 1)
        grew = False
        while len(self.buf) - self.pos < wanted and self.fill():
            grew = True
        return grew

    def peek(self) -> str:
        """The next non-whitespace character, without consuming it ("" at the end of the text)."""
        while True:
            self.pos = WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def line_at(self, pos: int) -> int:
        """Line number at `pos`; positions must be asked in increasing order (counting is incremental)."""
        if pos > self.line_pos:
            self.line_number += self.buf.count("\n", self.line_pos, pos)
            self.line_pos = pos
        return self.line_number

    def next_char_after(self, pos: int) -> str:
        """The first non-whitespace character after `pos`, without moving; reads on if needed."""
        while True:
            after = WHITESPACE.match(self.buf, pos + 1).end()  # type: ignore[union-attr]
            if after < len(self.buf):
                return self.buf[after]
            shift = self.pos
            if not self.fill():
                return ""
            pos -= shift  # fill() dropped the text before self.pos

    def rest_is_blank(self) -> bool:
        return self.peek() == ""


def find_value_end(buf: str, pos: int) -> int:
    """Index of the `,` or closing bracket that ends the value starting at `pos`; -1 if not in buf."""
    depth = 0
    i = pos
    while True:
        match = STRUCTURAL.search(buf, i)
        if match is None:
            return -1
        j = match.start()
        ch = buf[j]
        if ch == '"':
            tail = STRING_TAIL.match(buf, j + 1)
            if tail is None:
                return -1
            i = tail.end()
            continue
        if ch in "[{":
            depth += 1
        elif depth == 0:  # a `,` or closing bracket that belongs to the enclosing array/object
            return j
        elif ch != ",":
            depth -= 1
        i = j + 1


def read_value(tb: TextBuffer, max_size: int) -> Element:
    """Parse the value at the buffer position (whitespace already skipped) and move past it.

    A value that grows past `max_size` characters before it ends is skipped without being
    kept: the Element then has no value, no error and its full `size`.
    """
    while True:
        start = tb.pos
        try:
            value, end = DECODER.raw_decode(tb.buf, start)
        except (json.JSONDecodeError, ValueError, RecursionError) as exc:
            end = find_value_end(tb.buf, start)
            if end < 0 and len(tb.buf) - start > max_size:
                line = tb.line_at(start)
                return Element(None, None, line, skip_value_text(tb))
            if end < 0 and tb.grow():
                continue  # the element runs past the buffer: read on and try again
            start = tb.pos  # grow() may have moved the buffer
            truncated = end < 0
            if truncated:
                end = len(tb.buf)
                reason = "the file ends in the middle of this record (is it truncated?)"
            elif isinstance(exc, RecursionError):
                reason = "the record is nested too deeply to read"
            elif isinstance(exc, json.JSONDecodeError):
                reason = f"{exc.msg} at character {exc.pos - start} of the record"
            else:
                reason = str(exc)
            element = Element(None, f"not valid JSON: {reason}", tb.line_at(start), end - start, truncated)
            tb.pos = end
            return element
        if may_continue(value, tb.buf, end) and not tb.eof and tb.fill():
            continue  # a number or literal cut by the block end ("0." + "5"): read on and parse again
        start = tb.pos
        element = Element(value, None, tb.line_at(start), end - start)
        tb.pos = end
        return element


def may_continue(value: Any, buf: str, end: int) -> bool:
    """Whether a number or literal ends at the buffer's end, so the next block may extend it."""
    if isinstance(value, (dict, list, str)):
        return False  # self-delimiting
    tail = SCALAR_TAIL.match(buf, end)
    return tail is not None and tail.end() == len(buf)


def skip_value_text(tb: TextBuffer) -> int:
    """Consume the value at the buffer position block by block, keeping none of it; its length.

    The scan state (depth, inside a string, a pending backslash) carries across blocks, so
    memory stays at one block however long the value is.
    """
    depth, in_string, escaped = 0, False, False
    size = 0
    i = tb.pos
    while True:
        buf, n = tb.buf, len(tb.buf)
        if escaped and i < n:
            i, escaped = i + 1, False
        while i < n:
            if in_string:
                match = STRING_SPECIAL.search(buf, i)
                if match is None:
                    i = n
                elif buf[match.start()] == "\\":
                    i = match.start() + 2
                    escaped = i > n  # the escaped character is in the next block
                    i = min(i, n)
                else:
                    in_string, i = False, match.end()
                continue
            match = STRUCTURAL.search(buf, i)
            if match is None:
                i = n
                continue
            j, ch = match.start(), buf[match.start()]
            if ch == '"':
                in_string = True
            elif ch in "[{":
                depth += 1
            elif depth == 0:  # the delimiter after the value
                size += j - tb.pos
                tb.pos = j
                return size
            elif ch != ",":
                depth -= 1
            i = j + 1
        size += n - tb.pos
        tb.pos = n
        if not tb.fill():
            return size
        i = tb.pos


def iter_elements(tb: TextBuffer, max_size: int = 1 << 62) -> Iterator[Element]:
    """Elements of the array whose `[` is the next character; stops after its `]`.

    An element longer than `max_size` characters is skipped unread (value and error None).
    """
    if tb.peek() != "[":
        raise JsonStructureError("expected a JSON array")
    tb.pos += 1
    if tb.peek() == "]":
        tb.pos += 1
        return
    comma_missing = False
    while True:
        if tb.peek() == "":  # the text ended right after a comma
            yield unclosed_array(tb)
            return
        element = read_value(tb, max_size)
        yield replace(element, comma_missing=True) if comma_missing else element
        comma_missing = False
        ch = tb.peek()
        if ch == ",":
            tb.pos += 1
            if tb.peek() == "]":  # a trailing comma: tolerated, as many writers produce it
                tb.pos += 1
                return
        elif ch in ("]", "}"):
            tb.pos += 1
            return
        elif ch == "":
            if element.error is None:  # a cut-off element already says the file is truncated
                yield unclosed_array(tb)
            return
        elif ch in VALUE_STARTS:  # another record right after this one: a comma is missing, nothing is lost
            comma_missing = True
        else:
            line = tb.line_at(tb.pos)
            reason = f"not valid JSON: expected ',' or ']' after the previous record, found {ch!r}"
            yield Element(None, reason, line, 0)
            end = find_value_end(tb.buf, tb.pos)
            tb.pos = end if end >= 0 else len(tb.buf)


def unclosed_array(tb: TextBuffer) -> Element:
    reason = "not valid JSON: the file ends before the array is closed with ']' (is it truncated?)"
    return Element(None, reason, tb.line_at(tb.pos), 0, truncated=True)


def skip_value(tb: TextBuffer) -> None:
    while True:
        end = find_value_end(tb.buf, tb.pos)
        if end >= 0:
            tb.pos = end
            return
        if not tb.fill():
            tb.pos = len(tb.buf)
            return


def read_key(tb: TextBuffer) -> str:
    element = read_value(tb, 1 << 20)
    if not isinstance(element.value, str) or tb.peek() != ":":
        raise JsonStructureError("expected an object key")
    tb.pos += 1
    return element.value


def find_list_key(tb: TextBuffer) -> tuple[str | None, bool]:
    """Walk a top-level object to the first key holding a list of objects.

    Returns (key, found). When found, the buffer is positioned at that list's `[`. A key
    such as "messages" holding a list means the object is itself one record: (None, False).
    """
    if tb.peek() != "{":
        raise JsonStructureError("expected a JSON object")
    tb.pos += 1
    while True:
        ch = tb.peek()
        if ch != '"':
            return None, False
        key = read_key(tb)
        if tb.peek() == "[":
            if key in RECORD_LIST_KEYS:
                return None, False
            if tb.next_char_after(tb.pos) == "{":
                return key, True
        skip_value(tb)
        if tb.peek() == ",":
            tb.pos += 1
