"""Tokens of one canonical example, counted the way report.COUNTING_METHOD says.

The example is laid out in order: the tool schema first (templates put it in the system
prompt), then each message as 3 tokens of overhead, its role, name, tool_call_id, content and
tool calls; then 3 tokens that prime the reply. Knowing where each assistant message falls in
that layout tells how many of its tokens a cut at max_seq_length removes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import orjson

from backend.core.conversation import Conversation, Message

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_EXAMPLE = 3


@dataclass(frozen=True, slots=True)
class Measured:
    total: int
    assistant: int  # trainable: assistant contents and tool calls
    assistant_cut: int  # of those, the tokens past max_seq_length
    content_by_role: Counter[str]


def tool_calls_text(message: Message) -> str | None:
    if not message.tool_calls:
        return None
    return orjson.dumps(list(message.tool_calls)).decode()


def iter_canonical_texts(conv: Conversation) -> Iterator[str]:
    """Every text measure_example looks up, so a caller can count a whole batch at once."""
    if conv.tools is not None:
        yield conv.tools
    for m in conv.messages:
        yield m.role
        yield m.content
        if m.name is not None:
            yield m.name
        if m.tool_call_id is not None:
            yield m.tool_call_id
        calls = tool_calls_text(m)
        if calls is not None:
            yield calls


def measure_example(conv: Conversation, counts: Mapping[str, int], max_seq_length: int) -> Measured:
    """Total and assistant tokens of one example, and the assistant tokens a cut would remove.

    `counts` maps every text of iter_canonical_texts(conv) to its token count.
    """
    position = counts[conv.tools] if conv.tools is not None else 0
    assistant = kept = 0
    by_role: Counter[str] = Counter()
    for m in conv.messages:
        position += TOKENS_PER_MESSAGE + counts[m.role]
        if m.name is not None:
            position += counts[m.name] + TOKENS_PER_NAME
        if m.tool_call_id is not None:
            position += counts[m.tool_call_id]
        content = counts[m.content]
        by_role[m.role] += content
        calls = tool_calls_text(m)
        body = content + (counts[calls] if calls is not None else 0)
        if m.role == "assistant":
            assistant += body
            kept += max(0, min(position + body, max_seq_length) - min(position, max_seq_length))
        position += body
    return Measured(position + TOKENS_PER_EXAMPLE, assistant, assistant - kept, by_role)
