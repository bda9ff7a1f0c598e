"""Tokens of one canonical example, counted the way report.COUNTING_METHOD says.

The example is laid out in order: the tool schema first (templates put it in the system
prompt), then each message as the cookbook counts it (backend.core.tokens.chat: 3 tokens of
overhead and every value of the message, its content and tool calls last), then 3 tokens that
prime the reply. Knowing where each assistant message's content and calls fall in that layout
tells how many of its trained tokens a cut at max_seq_length removes.

What is trained: the content and the tool calls of every assistant message whose weight is not 0
(OpenAI's `weight: 0` turns, and LLaMA-Factory's `loss_weight: 0`, are context, not targets).
Per role: the content and the tool calls of each message are counted under its role, so the tool
calls an assistant emits are assistant tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backend.core.conversation import Conversation
from backend.core.tokens.chat import (
    TOKENS_PER_EXAMPLE,
    TOKENS_PER_MESSAGE,
    message_texts,
    message_tokens,
    value_text,
)


@dataclass(frozen=True, slots=True)
class Measured:
    total: int
    assistant: int  # trained: contents and tool calls of assistant turns with a weight other than 0
    assistant_cut: int  # of those, the tokens past max_seq_length
    by_role: dict[str, int]  # contents and tool calls, per role
    untrained_assistant_turns: bool  # some assistant turns, and every one of them has weight 0
    assistant_content: int  # every assistant content, trained or not (the cookbook's assistant figure)


def iter_canonical_texts(conv: Conversation, message_dicts: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Every text measure_example looks up, so a caller can count a whole batch at once."""
    if conv.tools is not None:
        yield conv.tools
    for message in message_dicts:
        if len(message) == 2:  # {"role", "content"}: most messages, kept cheap
            yield message["role"]
            yield message["content"]
        else:
            yield from message_texts(message)


def measure_example(
    conv: Conversation,
    message_dicts: Sequence[Mapping[str, Any]],
    counts: Mapping[str, int],
    max_seq_length: int,
) -> Measured:
    """Total and trained tokens of one example, and the trained tokens a cut would remove.

    `message_dicts` are `message_to_json` of conv.messages; `counts` maps every text of
    iter_canonical_texts to its token count.
    """
    position = counts[conv.tools] if conv.tools is not None else 0
    assistant = kept = content = 0
    assistant_turns = trained_turns = 0
    by_role: dict[str, int] = {}
    for message, written in zip(conv.messages, message_dicts, strict=True):
        role = message.role
        body = counts[message.content]
        if len(written) == 2:  # {"role", "content"}: the formula written out, for speed
            size = TOKENS_PER_MESSAGE + counts[role] + body
        else:
            size = message_tokens(written, counts)
            calls = written.get("tool_calls")
            if calls is not None:
                body += counts[value_text(calls)]
        by_role[role] = by_role.get(role, 0) + body
        if role == "assistant":
            assistant_turns += 1
            content += counts[message.content]
            if message.weight != 0:
                trained_turns += 1
                assistant += body
                start = position + size - body  # the content and the calls end the message's tokens
                kept += max(0, min(start + body, max_seq_length) - min(start, max_seq_length))
        position += size
    untrained = assistant_turns > 0 and trained_turns == 0
    return Measured(position + TOKENS_PER_EXAMPLE, assistant, assistant - kept, by_role, untrained, content)
