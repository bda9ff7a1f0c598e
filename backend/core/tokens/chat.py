"""Chat token counts by OpenAI's published formula (the cookbook's fine-tuning data check): the one
implementation, used by the analysis (its main figures and its OpenAI section) and by the tests.

Per message: 3 tokens of overhead, plus the tokens of every value of the message (the role too, the
content, the name, and any other key the message carries, such as `weight`), plus 1 more when the
message has a name; plus 3 per example for the reply priming. A value that is not a string (a
`weight` of 1, a list of tool calls) is counted as its compact JSON text ("1", '[{"id":...}]'): the
cookbook passes every value to the tokenizer, which would refuse anything but text, so its text is
what it would have counted. It is the figure OpenAI's own data-preparation notebook prints, so
"OpenAI-compatible" numbers match what users see there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from backend.core.tokens.counter import TokenCounter

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_EXAMPLE = 3  # every reply is primed with <|start|>assistant<|message|>


def value_text(value: Any) -> str:
    """The text whose tokens a message value costs: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def message_texts(message: Mapping[str, Any]) -> Iterator[str]:
    """Every text `message_tokens` looks up for one message."""
    for value in message.values():
        yield value_text(value)


def message_tokens(message: Mapping[str, Any], counts: Mapping[str, int]) -> int:
    """The cookbook's tokens for one message; `counts` maps each of its message_texts to its count."""
    total = TOKENS_PER_MESSAGE + sum(counts[value_text(value)] for value in message.values())
    return total + TOKENS_PER_NAME if "name" in message else total


def count_openai_chat_tokens(messages: Sequence[Mapping[str, Any]], counter: TokenCounter) -> int:
    """The cookbook's total for one example: `messages` as raw dicts (or Message.to_json() shapes).

    >>> from backend.core.tokens import get_counter
    >>> count_openai_chat_tokens([{"role": "user", "content": "Hello"}], get_counter("cl100k_base"))
    8
    """
    texts = [text for message in messages for text in message_texts(message)]
    counts = dict(zip(texts, counter.count_batch(texts), strict=True))
    return TOKENS_PER_EXAMPLE + sum(message_tokens(message, counts) for message in messages)
