"""Chat token counts by OpenAI's published formula (the cookbook's fine-tuning data check).

Per message: 3 tokens of overhead, plus the tokens of every string value of the message (the role
too, the content, the name), plus 1 more when the message has a name; plus 3 per example for the
reply priming. It is the figure OpenAI's own data-preparation notebook prints, so "OpenAI-compatible"
numbers match what users see there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backend.core.tokens.counter import TokenCounter

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_EXAMPLE = 3


def count_openai_chat_tokens(messages: Sequence[Mapping[str, Any]], counter: TokenCounter) -> int:
    """The cookbook's total for one example: `messages` as raw dicts (or Message.to_json() shapes).

    Only string values are counted, as in the cookbook; tool calls, weights and other non-string
    values add nothing beyond the per-message overhead.

    >>> from backend.core.tokens import get_counter
    >>> count_openai_chat_tokens([{"role": "user", "content": "Hello"}], get_counter("cl100k_base"))
    8
    """
    strings: list[str] = []
    total = TOKENS_PER_EXAMPLE
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if isinstance(value, str):
                strings.append(value)
            if key == "name":
                total += TOKENS_PER_NAME
    return total + sum(counter.count_batch(strings))
