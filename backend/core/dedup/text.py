"""The text of a conversation that near-duplicate detection compares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from backend.core.conversation import Conversation

NEAR_DUP_TEXT_RULE = (
    "the whole conversation, one line per message as 'role: content' (tool calls as "
    "'role: tool_call name arguments'), without the tool schema; for preference data, the prompt "
    "and the preferred answer"
)

Turn = tuple[str, str, Sequence[Any] | None]  # role, content, tool calls


def conversation_text(conv: Conversation, *, include_system: bool = True) -> str:
    """Every message, role-tagged, one per line; minhash_band_keys then lowercases and shingles it.

    `include_system=False` leaves system messages out: one long system prompt shared by a whole
    dataset would otherwise make unrelated examples look alike.
    """
    return turns_text(((m.role, m.content, m.tool_calls) for m in conv.messages), include_system=include_system)


def stored_text(example: Mapping[str, Any], *, include_system: bool = False) -> str:
    """conversation_text of a canonical JSON object (an analysis store line), system left out by default.

    The same text as conversation_text(conv) of the Conversation it was written from.
    """
    messages = [*example["messages"], *example.get("chosen", example.get("completion", ()))]
    return turns_text(((m["role"], m["content"], m.get("tool_calls")) for m in messages), include_system=include_system)


def turns_text(turns: Iterable[Turn], *, include_system: bool = True) -> str:
    lines: list[str] = []
    for role, content, calls in turns:
        if role == "system" and not include_system:
            continue
        lines.append(f"{role}: {content}")
        for call in calls or ():
            function = call.get("function")
            if isinstance(function, dict):
                arguments = function.get("arguments")
                if not isinstance(arguments, str):
                    arguments = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS, default=repr).decode()
                lines.append(f"{role}: tool_call {function.get('name')} {arguments}")
    return "\n".join(lines)
