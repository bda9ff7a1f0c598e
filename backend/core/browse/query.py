"""What a person asks to see among the examples, and whether one example matches it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from backend.core.analysis.language import SAMPLE_CHARS, detect_language
from backend.core.conversation import CANONICAL_ROLES
from backend.core.errors import InvalidInputError

Sort = Literal["file", "tokens_desc", "tokens_asc"]
SORTS: tuple[Sort, ...] = ("file", "tokens_desc", "tokens_asc")
MAX_TEXT_CHARS = 200
MAX_RECORDS = 1000


@dataclass(frozen=True, slots=True)
class ExampleQuery:
    """Filters combine with AND. `text` is matched case-insensitively in message contents and in tool
    calls (name and arguments); with `role` it must occur in a message of that role, and without `text`
    `role` keeps the examples that have a message of that role. `records` limits the examples to these
    record numbers (as listed by an issue or a duplicate group)."""

    text: str | None = None
    role: str | None = None
    language: str | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    records: tuple[int, ...] | None = None
    sort: Sort = "file"

    def __post_init__(self) -> None:
        if self.text is not None and len(self.text) > MAX_TEXT_CHARS:
            raise InvalidInputError(f"The search text is limited to {MAX_TEXT_CHARS} characters.", field="q")
        if self.role is not None and self.role not in CANONICAL_ROLES:
            raise InvalidInputError(
                f"Unknown role {self.role!r}: use one of {', '.join(CANONICAL_ROLES)}.", field="role"
            )
        if self.sort not in SORTS:
            raise InvalidInputError(f"Unknown sort {self.sort!r}: use one of {', '.join(SORTS)}.", field="sort")
        low, high = self.min_tokens, self.max_tokens
        if (low is not None and low < 0) or (high is not None and high < 0):
            raise InvalidInputError("Token limits must not be negative.", field="min_tokens")
        if low is not None and high is not None and low > high:
            raise InvalidInputError(
                f"min_tokens ({low:,}) is above max_tokens ({high:,}): no example can match.", field="min_tokens"
            )
        if self.records is not None and len(self.records) > MAX_RECORDS:
            raise InvalidInputError(f"Ask for at most {MAX_RECORDS} record numbers at once.", field="records")

    @property
    def needs_text(self) -> bool:
        """Whether matching reads the examples' text (the other filters only need the store's index)."""
        return bool(self.text) or self.role is not None or self.language is not None

    def scan_key(self) -> tuple[str | None, str | None, str | None]:
        return (self.text.casefold() if self.text else None, self.role, self.language)


def _texts(message: dict[str, Any]) -> Iterator[str]:
    content = message.get("content")
    if isinstance(content, str):
        yield content
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            yield str(function.get("name") or "")
            arguments = function.get("arguments")
            yield arguments if isinstance(arguments, str) else str(arguments or "")


def matches_example(example: dict[str, Any], query: ExampleQuery) -> bool:
    """Whether a canonical example (`{"messages": [...], "tools"?: ...}`) passes the text filters.

    >>> ex = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"}]}
    >>> matches_example(ex, ExampleQuery(text="HELLO")), matches_example(ex, ExampleQuery(text="hello", role="user"))
    (True, False)
    """
    messages = [m for m in example.get("messages") or () if isinstance(m, dict)]
    if query.role is not None:
        messages = [m for m in messages if m.get("role") == query.role]
        if not messages:
            return False
    if query.text:
        needle = query.text.casefold()
        if not any(needle in text.casefold() for m in messages for text in _texts(m)):
            return False
    return query.language is None or example_language(example) == query.language


def example_language(example: dict[str, Any]) -> str:
    """The example's language as the analysis detects it: its user and assistant turns, first characters.

    A preference example's answer (chosen, or the unpaired completion) counts as its last turns, as in the
    analysis; the rejected answer does not.
    """
    parts: list[str] = []
    size = 0
    answer = example.get("chosen") or example.get("completion") or []
    for message in [*(example.get("messages") or ()), *answer]:
        content = message.get("content") if isinstance(message, dict) else None
        if message.get("role") in ("user", "assistant") and isinstance(content, str) and content:
            parts.append(content[:SAMPLE_CHARS])
            size += len(parts[-1])
            if size >= SAMPLE_CHARS:
                break
    return detect_language(" ".join(parts))
