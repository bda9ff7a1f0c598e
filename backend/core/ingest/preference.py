"""Preference records (DPO pairs, KTO-style labelled answers) -> a Conversation with `preference` set.

The formats recognised, by their keys:

    trl_prompt_chosen_rejected   TRL: prompt (text or turns, optional), chosen, rejected (text or turns);
                                 without a prompt, chosen and rejected are whole conversations sharing it
    trl_prompt_completion_label  TRL unpaired: prompt, completion, label (bool)
    sharegpt_chosen_rejected     LLaMA-Factory: conversations (or messages) + chosen + rejected, each
                                 answer one turn ({"from", "value"} or {"role", "content"}) or a list
    kto_messages_label           LLaMA-Factory KTO: messages (or conversations) + label (bool); the
                                 trailing assistant turn is the labelled answer
    llamafactory_v1              LLaMA-Factory v1: chosen_messages + rejected_messages, two whole
                                 conversations that share their prompt

The canonical result (see backend.core.conversation): messages = prompt turns + the preferred
answer, and `Preference` says where the prompt ends and holds the rejected answer or the label.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.core.conversation import Message, Preference, SourceFormat
from backend.core.ingest.message import (
    MessageContext,
    convert_openai_message,
    convert_sharegpt_turn,
    describe_type,
    flatten_content,
)

Converted = tuple[list[Message], Preference]


def is_label(value: Any) -> bool:
    return type(value) is bool


def detect_preference_format(raw: dict[str, Any]) -> SourceFormat | None:
    """The preference format of a record, or None when it is not preference data."""
    if "chosen_messages" in raw and "rejected_messages" in raw:
        return SourceFormat.LLAMAFACTORY_V1
    if "chosen" in raw and "rejected" in raw:
        if "conversations" in raw or "messages" in raw:
            return SourceFormat.SHAREGPT_PREFERENCE
        return SourceFormat.PREFERENCE
    if is_label(raw.get("label")):
        if "messages" in raw or "conversations" in raw:
            return SourceFormat.KTO
        if "prompt" in raw and "completion" in raw:
            return SourceFormat.TRL_UNPAIRED
    return None


def convert_turns(value: Any, key: str, default_role: str, ctx: MessageContext) -> list[Message]:
    """A chat value as written: text, one turn (an object), or a list of turns (OpenAI or ShareGPT)."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        sharegpt = "role" not in value[0] and ("from" in value[0] or "value" in value[0])
        convert = convert_sharegpt_turn if sharegpt else convert_openai_message
        return [m for i, item in enumerate(value) if (m := convert(item, i, ctx)) is not None]
    if value is None or value == []:
        ctx.add("missing_content", f"the record has no {key!r} value.")
        return []
    text = value if isinstance(value, str) else flatten_content(value, f"the {key!r} field", ctx)
    return [Message(role=default_role, content=text)]


def split_shared_prompt(chosen: list[Message], rejected: list[Message], ctx: MessageContext) -> Converted:
    """Two whole conversations -> their shared prompt, the chosen and the rejected answer.

    The prompt is the longest common run of turns that the chosen answer does not start inside,
    i.e. it ends before the first assistant turn at which the two conversations differ.
    """
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    while shared > 0 and chosen[shared - 1].role == "assistant" and shared == len(chosen):
        shared -= 1  # identical conversations: the last reply is still the answer, not prompt
    if shared < len(chosen) and chosen[shared].role != "assistant":
        ctx.add(
            "preference_prompt_mismatch",
            "the chosen and the rejected conversations differ before their answers; the chosen one's "
            "turns are used as the prompt.",
            "warning",
        )
        shared = _answer_start(chosen)
        rejected = rejected[_answer_start(rejected) :]
    else:
        rejected = rejected[shared:]
    return _paired(chosen[:shared], chosen[shared:], rejected, ctx)


def _answer_start(messages: list[Message]) -> int:
    """Where the trailing assistant turns of a conversation begin."""
    start = len(messages)
    while start > 0 and messages[start - 1].role == "assistant":
        start -= 1
    return start


def _paired(prompt: list[Message], chosen: list[Message], rejected: list[Message], ctx: MessageContext) -> Converted:
    if not chosen:
        ctx.add("missing_content", "the record has no chosen answer.")
    if not rejected:
        ctx.add("missing_content", "the record has no rejected answer.")
    return [*prompt, *chosen], Preference("paired", len(prompt), rejected=tuple(rejected))


def _system(record: dict[str, Any], ctx: MessageContext) -> list[Message]:
    system = record.get("system")
    if system is None or system == "":
        return []
    if not isinstance(system, str):
        system = flatten_content(system, "the system field", ctx)
    return [Message(role="system", content=system)]


def convert_trl_paired(record: dict[str, Any], ctx: MessageContext) -> Converted:
    chosen = convert_turns(record.get("chosen"), "chosen", "assistant", ctx)
    rejected = convert_turns(record.get("rejected"), "rejected", "assistant", ctx)
    if "prompt" not in record:  # implicit prompt: two whole conversations
        return split_shared_prompt([*_system(record, ctx), *chosen], [*_system(record, ctx), *rejected], ctx)
    prompt = [*_system(record, ctx), *convert_turns(record.get("prompt"), "prompt", "user", ctx)]
    return _paired(prompt, chosen, rejected, ctx)


def convert_trl_unpaired(record: dict[str, Any], ctx: MessageContext) -> Converted:
    prompt = [*_system(record, ctx), *convert_turns(record.get("prompt"), "prompt", "user", ctx)]
    completion = convert_turns(record.get("completion"), "completion", "assistant", ctx)
    return [*prompt, *completion], Preference("unpaired", len(prompt), label=bool(record["label"]))


def _chat_list(record: dict[str, Any], ctx: MessageContext) -> list[Message] | None:
    key = "messages" if "messages" in record else "conversations"
    items = record[key]
    if not isinstance(items, list):
        ctx.add("missing_messages", f"{key!r} is {describe_type(items)}, not a list of turns.")
        return None
    return [*_system(record, ctx), *convert_turns(items, key, "user", ctx)] if items else _system(record, ctx)


def convert_sharegpt_paired(record: dict[str, Any], ctx: MessageContext) -> Converted | None:
    prompt = _chat_list(record, ctx)
    if prompt is None:
        return None
    chosen = convert_turns(record.get("chosen"), "chosen", "assistant", ctx)
    rejected = convert_turns(record.get("rejected"), "rejected", "assistant", ctx)
    return _paired(prompt, chosen, rejected, ctx)


def convert_kto(record: dict[str, Any], ctx: MessageContext) -> Converted | None:
    messages = _chat_list(record, ctx)
    if messages is None:
        return None
    start = _answer_start(messages)
    if start == len(messages):
        ctx.add("missing_assistant_answer", "the labelled record has no assistant answer at its end.")
    return messages, Preference("unpaired", start, label=bool(record["label"]))


def convert_llamafactory_v1(record: dict[str, Any], ctx: MessageContext) -> Converted | None:
    sides = []
    for key in ("chosen_messages", "rejected_messages"):
        items = record[key]
        if not isinstance(items, list):
            ctx.add("missing_messages", f"{key!r} is {describe_type(items)}, not a list of messages.")
            return None
        sides.append(convert_turns(items, key, "assistant", ctx))
    return split_shared_prompt(sides[0], sides[1], ctx)


PREFERENCE_CONVERTERS: dict[SourceFormat, Callable[[dict[str, Any], MessageContext], Converted | None]] = {
    SourceFormat.PREFERENCE: convert_trl_paired,
    SourceFormat.TRL_UNPAIRED: convert_trl_unpaired,
    SourceFormat.SHAREGPT_PREFERENCE: convert_sharegpt_paired,
    SourceFormat.KTO: convert_kto,
    SourceFormat.LLAMAFACTORY_V1: convert_llamafactory_v1,
}
