"""The text of a conversation that near-duplicate detection compares."""

from __future__ import annotations

import orjson

from backend.core.conversation import Conversation

NEAR_DUP_TEXT_RULE = (
    "the whole conversation, one line per message as 'role: content' (tool calls as "
    "'role: tool_call name arguments'), without the tool schema"
)


def conversation_text(conv: Conversation, *, include_system: bool = True) -> str:
    """Every message, role-tagged, one per line; minhash_band_keys then lowercases and shingles it.

    `include_system=False` leaves system messages out: one long system prompt shared by a whole
    dataset would otherwise make unrelated examples look alike.
    """
    lines: list[str] = []
    for m in conv.messages:
        if m.role == "system" and not include_system:
            continue
        lines.append(f"{m.role}: {m.content}")
        for call in m.tool_calls or ():
            function = call.get("function")
            if isinstance(function, dict):
                arguments = function.get("arguments")
                if not isinstance(arguments, str):
                    arguments = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS, default=repr).decode()
                lines.append(f"{m.role}: tool_call {function.get('name')} {arguments}")
    return "\n".join(lines)
