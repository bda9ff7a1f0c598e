"""The OpenAI cookbook's chat fine-tuning checks and token formula, applied to raw records.

The cookbook ("Chat_finetuning_data_prep") counts seven kinds of format error and estimates
tokens per example as: for each message 3 + the tokens of every value (the role string too)
+ 1 when it has a `name`; then + 3 for the example. We follow it to the letter so that its
toy file gives its printed figures, with two deliberate widenings for today's API, which the
cookbook predates: the `tool` role and the `tool_calls` / `tool_call_id` keys are accepted,
and a message whose content is null is fine when it carries tool calls. The token formula is
backend.core.tokens.chat's, the one the main figures use too.

These figures are computed only for records in OpenAI `messages` format; other formats are
validated by the canonical checks instead. Records that hold OpenAI messages under
`conversations` are validated as if the key were `messages` (the cookbook would stop at the
key, once per record; the report says once to rename it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from backend.core.tokens.chat import TOKENS_PER_EXAMPLE, message_texts, message_tokens, value_text

FORMAT_ERRORS: tuple[str, ...] = (
    "data_type",
    "missing_messages_list",
    "message_missing_key",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
    "example_missing_assistant_message",
)
RECOGNIZED_KEYS = frozenset(
    {"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"}
)
RECOGNIZED_ROLES = frozenset({"system", "user", "assistant", "function", "tool"})
TOKEN_LIMITS: tuple[int, ...] = (4096, 16385, 65536)

NOTE = (
    "OpenAI cookbook checks and token formula, over the raw records in OpenAI `messages` format only "
    "(the `tool` role and `tool_calls`/`tool_call_id` keys are accepted as today's API does)."
)


@dataclass(frozen=True, slots=True)
class CookbookRecord:
    """One record's cookbook verdict: its format errors (one entry per occurrence) and token figures."""

    errors: tuple[str, ...]
    num_messages: int
    total_tokens: int
    assistant_tokens: int
    has_system: bool
    has_user: bool


def find_messages(raw: Any) -> Any:
    """The record's messages as the cookbook reads them (None when absent): `messages`, or OpenAI
    messages written under `conversations`."""
    if not isinstance(raw, dict):
        return None
    if "messages" in raw:
        return raw["messages"]
    return raw.get("conversations")


def iter_cookbook_texts(raw: Any) -> Iterator[str]:
    """Every text the token formula needs for this record (so a caller can count them in one batch)."""
    messages = find_messages(raw)
    if not isinstance(messages, list):
        return
    for message in messages:
        if isinstance(message, dict):
            yield from message_texts(message)


def validate_record(raw: Any, counts: Mapping[str, int]) -> CookbookRecord:
    """The cookbook's checks and token figures for one raw record.

    `counts` maps each text from iter_cookbook_texts(raw) to its token count.
    """
    if not isinstance(raw, dict):
        return CookbookRecord(("data_type",), 0, 0, 0, False, False)
    messages = find_messages(raw)
    if not messages or not isinstance(messages, list):
        return CookbookRecord(("missing_messages_list",), 0, 0, 0, False, False)
    errors: list[str] = []
    total = TOKENS_PER_EXAMPLE
    assistant = 0
    roles: set[str | None] = set()
    for message in messages:
        if not isinstance(message, dict):
            errors.append("message_missing_key")
            continue
        role = message.get("role")
        content = message.get("content")
        if not (
            len(message) == 2
            and type(role) is str
            and type(content) is str
            and content
            and role in RECOGNIZED_ROLES
        ):  # the common case, {"role": ..., "content": "..."}, has nothing to report
            errors.extend(_message_errors(message))
        total += message_tokens(message, counts)
        roles.add(role if isinstance(role, str) else None)
        if role == "assistant" and content is not None:
            assistant += counts[content if isinstance(content, str) else value_text(content)]
    if "assistant" not in roles:
        errors.append("example_missing_assistant_message")
    return CookbookRecord(tuple(errors), len(messages), total, assistant, "system" in roles, "user" in roles)


def verdict_of_counts(
    messages: int, unknown_roles: int, empty_contents: int, role_counts: list[int], total_tokens: int,
    assistant_tokens: int,
) -> CookbookRecord:
    """validate_record for a record whose messages are all plain {"role", "content": str} objects,
    from counts the caller has (batch_checks), with the tokens the canonical measure counted by the
    same formula. `role_counts`: system, user, assistant, tool, unknown."""
    errors = ("unrecognized_role",) * unknown_roles + ("missing_content",) * empty_contents
    if not role_counts[2]:
        errors += ("example_missing_assistant_message",)
    return CookbookRecord(errors, messages, total_tokens, assistant_tokens, role_counts[0] > 0, role_counts[1] > 0)


def _message_errors(message: dict[str, Any]) -> Iterator[str]:
    if "role" not in message or "content" not in message:
        yield "message_missing_key"
    if any(key not in RECOGNIZED_KEYS for key in message):
        yield "message_unrecognized_key"
    role = message.get("role")
    if not isinstance(role, str) or role not in RECOGNIZED_ROLES:
        yield "unrecognized_role"
    content = message.get("content")
    calls = message.get("function_call") or message.get("tool_calls")
    if (not content and not calls) or not (isinstance(content, str) or (content is None and calls)):
        yield "missing_content"
