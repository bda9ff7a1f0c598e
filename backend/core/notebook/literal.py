"""Values as they may appear in a rendered cell: Python literals in code, escaped text in markdown.

The template environments refuse to output anything else (see render.py), so no value from a
dataset, a catalogue entry or a request can reach a cell except through these functions:
`py_literal` writes it as a Python literal (repr of plain data, never code), `md_text` escapes it
for markdown and HTML, and `py_name` admits an identifier only from an allow-list.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

# `<`, `>` and `&` are left to html.escape, which runs after this.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")
PAYLOAD_LINE_CHARS = 1000  # long enough to keep the cell small, short enough for Colab's editor


@dataclass(frozen=True, slots=True)
class PyLiteral:
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class MdText:
    text: str

    def __str__(self) -> str:
        return self.text


def is_plain_data(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(is_plain_data(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain_data(v) for k, v in value.items())
    return False


def py_literal(value: Any) -> PyLiteral:
    """A Python literal for plain data; repr escapes quotes, backslashes, newlines and NUL.

    >>> print(py_literal('say "hi"\\n%%capture'))
    'say "hi"\\n%%capture'
    >>> print(py_literal(("q_proj", "v_proj")))
    ['q_proj', 'v_proj']
    """
    if not is_plain_data(value):
        raise TypeError(f"only plain data can be written into a notebook cell, not {type(value).__name__}")
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, float) and value != value:  # NaN has no literal
        raise ValueError("NaN cannot be written into a notebook cell")
    return PyLiteral(repr(value))


def py_name(name: str, allowed: tuple[str, ...]) -> PyLiteral:
    """An identifier written as code, admitted only from a closed set."""
    if name not in allowed:
        raise ValueError(f"{name!r} is not one of {allowed}")
    return PyLiteral(name)


def py_long_string(text: str) -> PyLiteral:
    """A long ASCII string (base64) as adjacent literals in parentheses, one chunk per line."""
    if not text.isascii():
        raise ValueError("py_long_string is for ASCII payloads")
    lines = [repr(text[i : i + PAYLOAD_LINE_CHARS]) for i in range(0, len(text), PAYLOAD_LINE_CHARS)]
    return PyLiteral("(\n    " + "\n    ".join(lines or ["''"]) + "\n)")


def md_text(value: Any) -> MdText:
    """Text safe to show in a markdown cell: HTML-escaped, markdown syntax neutralised, one line.

    >>> print(md_text("<script>x</script> **bold**"))
    &lt;script&gt;x&lt;/script&gt; \\*\\*bold\\*\\*
    """
    text = " ".join(str(value).replace("\x00", "").split())
    return MdText(html.escape(_MARKDOWN_SPECIALS.sub(r"\\\1", text), quote=False))


def md_code(value: Any) -> MdText:
    """Inline code in markdown; backticks inside are replaced so the span cannot be closed early."""
    text = " ".join(str(value).replace("\x00", "").split()).replace("`", "'")
    return MdText(f"<code>{html.escape(text, quote=False)}</code>")
