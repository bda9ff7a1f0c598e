"""Lenient parsing of what a model wrote: the rows it meant, even when the JSON around them is broken.

Models asked for a JSON array answer with the array in a code fence, with a sentence before it, with
trailing commas or curly quotes, cut off by the token limit half-way through the last object, as one
object per line, or as a numbered list. In that order of preference the parser takes:

    json            the whole answer (fences stripped) is JSON
    json_repaired   it is JSON once trailing commas and typographic quotes are fixed
    json_fragments  the complete JSON objects/arrays found inside it (a cut-off array keeps its
                    complete items; the broken last one is dropped and counted by the caller)
    lines           (only where plain strings are acceptable) numbered or bulleted lines

    >>> parse_items('Here you go:\\n```json\\n[{"input": "a"}, {"input": "b"},]\\n```').items
    [{'input': 'a'}, {'input': 'b'}]
    >>> parse_items('1. first question\\n2. second question', allow_lines=True).items
    ['first question', 'second question']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

ParseMethod = Literal["json", "json_repaired", "json_fragments", "lines", "none"]

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
_LIST_LINE = re.compile(r"^\s*(?:[-*\u2022]|\(?\d{1,3}[.):]|[A-Za-z][.)])\s+(.+?)\s*$")
_STRING_LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')
# Keys under which a model wraps its list: {"inputs": [...]}, {"examples": [...]}, ...
_WRAPPER_KEYS = ("inputs", "examples", "items", "data", "rows", "results", "questions", "pairs", "samples",
                 "labels", "output")
_decoder = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class ParsedItems:
    items: list[Any]
    method: ParseMethod


def parse_items(text: str, *, allow_lines: bool = False) -> ParsedItems:
    """The list of items in a model's answer (see the module docstring for what is accepted)."""
    body = _unfenced(text).translate(_QUOTES).strip()
    for candidate, method in ((body, "json"), (_TRAILING_COMMA.sub(r"\1", body), "json_repaired")):
        try:
            return ParsedItems(_flatten([json.loads(candidate)]), method)  # type: ignore[arg-type]
        except json.JSONDecodeError:
            continue
    fragments = _json_fragments(body)
    if fragments:
        return ParsedItems(_flatten(fragments), "json_fragments")
    if allow_lines:
        strings = _string_literals(body) if body.lstrip().startswith("[") else []
        if strings:
            return ParsedItems(strings, "json_fragments")
        lines = [m.group(1).strip().strip('"') for m in map(_LIST_LINE.match, body.splitlines()) if m]
        if lines:
            return ParsedItems(lines, "lines")
    return ParsedItems([], "none")


def _unfenced(text: str) -> str:
    blocks = _FENCE.findall(text)
    if blocks:
        return "\n".join(blocks)
    if "```" in text:  # an opening fence cut off before its closing one
        return text.split("```", 1)[1].split("\n", 1)[-1]
    return text


def _json_fragments(text: str) -> list[Any]:
    """Every complete JSON object or array in `text`, outermost first, left to right."""
    found: list[Any] = []
    position = 0
    while True:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            return found
        start = min(starts)
        value, end = _decode_at(text, start)
        if end is None:
            position = start + 1  # not a whole value here: look inside it (a cut-off array's items)
            continue
        found.append(value)
        position = end


def _decode_at(text: str, start: int) -> tuple[Any, int | None]:
    try:
        value, end = _decoder.raw_decode(text, start)
        return value, end
    except json.JSONDecodeError:
        pass
    closing = _balanced_end(text, start)
    if closing is None:
        return None, None
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text[start:closing])), closing
    except json.JSONDecodeError:
        return None, None


def _balanced_end(text: str, start: int) -> int | None:
    """The end of the bracketed span opening at `start` (strings respected), or None if it never closes."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _string_literals(text: str) -> list[str]:
    out: list[str] = []
    for literal in _STRING_LITERAL.findall(text):
        try:
            value = json.loads(literal)
        except json.JSONDecodeError:
            continue
        if isinstance(value, str) and value.strip():
            out.append(value)
    return out


def _flatten(values: list[Any]) -> list[Any]:
    """Lists become their items; {"inputs": [...]}-style wrappers become the wrapped list."""
    items: list[Any] = []
    for value in values:
        if isinstance(value, list):
            items.extend(value)
        elif isinstance(value, dict):
            wrapped = next((value[k] for k in _WRAPPER_KEYS if isinstance(value.get(k), list)), None)
            if wrapped is not None and len(value) <= 2:
                items.extend(wrapped)
            else:
                items.append(value)
        else:
            items.append(value)
    return items


def text_of(item: Any, keys: tuple[str, ...]) -> str | None:
    """A string item, or the first of `keys` holding a string in a dict item."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in keys:
            value = item.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)
    return None
