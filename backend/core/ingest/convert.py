"""One parsed record -> its `SourceFormat` and a canonical `Conversation` (pure functions).

Formats and the keys that belong to them (everything else lands in `Conversation.extra_keys`):

    OPENAI             messages (or conversations whose items have role/content), tools, functions
    SHAREGPT           conversations of {from, value}, system, tools, id
    ALPACA             instruction, input, output, system, history  (Dolly: context, response)
    PROMPT_COMPLETION  prompt, completion (or response), system
    TEXT               text: one message with role "user" holding the raw text; the analysis reports
                       TEXT records as raw text rather than as a chat.
    preference data    see preference.py (TRL, LLaMA-Factory ShareGPT / KTO / v1 layouts)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from backend.core.conversation import PREFERENCE_FORMATS, Conversation, Message, Preference, RecordIssue, SourceFormat
from backend.core.ingest.message import (
    MessageContext,
    convert_openai_message,
    convert_sharegpt_turn,
    describe_type,
    flatten_content,
    to_json_text,
)
from backend.core.ingest.preference import PREFERENCE_CONVERTERS, detect_preference_format
from backend.core.ingest.record import DEFAULT_OPTIONS, IngestOptions, make_issue

FORMAT_KEYS: dict[SourceFormat, frozenset[str]] = {
    SourceFormat.OPENAI: frozenset(
        {"messages", "conversations", "tools", "functions", "parallel_tool_calls"}
    ),
    SourceFormat.SHAREGPT: frozenset({"conversations", "messages", "system", "tools", "id"}),
    SourceFormat.ALPACA: frozenset(
        {"instruction", "input", "output", "system", "history", "context", "response"}
    ),
    SourceFormat.PROMPT_COMPLETION: frozenset({"prompt", "completion", "response", "system"}),
    SourceFormat.TEXT: frozenset({"text"}),
    SourceFormat.PREFERENCE: frozenset({"prompt", "chosen", "rejected", "system"}),
    SourceFormat.TRL_UNPAIRED: frozenset({"prompt", "completion", "label", "system"}),
    SourceFormat.SHAREGPT_PREFERENCE: frozenset(
        {"conversations", "messages", "chosen", "rejected", "system", "tools", "id"}
    ),
    SourceFormat.KTO: frozenset({"messages", "conversations", "label", "system", "tools", "id"}),
    SourceFormat.LLAMAFACTORY_V1: frozenset({"chosen_messages", "rejected_messages", "tools"}),
}
# Fields that hold a list and may arrive as JSON text (a CSV cell, a stringified column). The
# list fields are always lists; a prompt or answer is text unless it parses as chat messages.
LIST_TEXT_FIELDS = frozenset({"messages", "conversations", "history", "chosen_messages", "rejected_messages"})
MAYBE_CHAT_TEXT_FIELDS = frozenset({"prompt", "completion", "chosen", "rejected"})
CHAT_LIST_FIELDS = LIST_TEXT_FIELDS | MAYBE_CHAT_TEXT_FIELDS
# A field mapping may also name the keys inside each message: {"role": "speaker", "content": "text"}.
MESSAGE_FIELDS = ("role", "content")
KNOWN_FORMATS_HINT = (
    "messages, conversations, instruction/output, prompt/completion, prompt/chosen/rejected, "
    "chosen_messages/rejected_messages or text"
)
MAPPING_HINT = (
    "If its fields hold a conversation under other names, map them to the canonical ones "
    "(field_mapping in the API, --map in the CLI), e.g. question -> prompt, answer -> completion."
)


def detect_format(raw: Any) -> SourceFormat:
    """The format one record is written in, from its keys (and, for chat lists, the first item)."""
    if not isinstance(raw, dict):
        return SourceFormat.UNKNOWN
    preference = detect_preference_format(raw)
    if preference is not None:
        return preference
    if "messages" in raw:
        return SourceFormat.SHAREGPT if is_sharegpt_list(raw["messages"]) else SourceFormat.OPENAI
    if "conversations" in raw:
        return SourceFormat.OPENAI if is_openai_list(raw["conversations"]) else SourceFormat.SHAREGPT
    if "instruction" in raw and ("output" in raw or "input" in raw or "response" in raw):
        return SourceFormat.ALPACA
    if "prompt" in raw and ("completion" in raw or "response" in raw):
        return SourceFormat.PROMPT_COMPLETION
    if "text" in raw:
        return SourceFormat.TEXT
    return SourceFormat.UNKNOWN


def first_dict(items: Any) -> dict[str, Any] | None:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                return item
    return None


def is_sharegpt_list(items: Any) -> bool:
    first = first_dict(items)
    return first is not None and "role" not in first and ("from" in first or "value" in first)


def is_openai_list(items: Any) -> bool:
    first = first_dict(items)
    return first is not None and "role" in first


def to_conversation(
    raw: Any, *, index: int, line: int | None, options: IngestOptions = DEFAULT_OPTIONS
) -> tuple[Conversation | None, tuple[RecordIssue, ...]]:
    """Convert one parsed record. Never raises for bad data: problems come back as issues."""
    if not isinstance(raw, dict):
        issue = make_issue(
            index,
            line,
            "not_an_object",
            f"the record is {describe_type(raw)}, not a JSON object; each record must be an object "
            'such as {"messages": [...]}.',
        )
        return None, (issue,)
    ctx = MessageContext(index, line, options.role_mapping)
    record = prepare_record(raw, options, ctx)
    source_format = detect_format(record)
    if source_format is SourceFormat.UNKNOWN:
        keys = ", ".join(str(k) for k in list(record)[:12]) or "none"
        ctx.add(
            "unknown_format",
            f"the record has none of the keys of a known format ({KNOWN_FORMATS_HINT}); "
            f"its keys are: {keys}. {MAPPING_HINT}",
        )
        return None, tuple(ctx.issues)
    preference: Preference | None = None
    if source_format in PREFERENCE_FORMATS:
        converted = PREFERENCE_CONVERTERS[source_format](record, ctx)
        messages, preference = converted if converted is not None else (None, None)
    else:
        messages = CONVERTERS[source_format](record, ctx)
    if messages is None:
        return None, tuple(ctx.issues)
    if not messages:
        ctx.add("empty_conversation", "the record holds no messages.")
        return None, tuple(ctx.issues)
    format_keys = FORMAT_KEYS[source_format]
    extra = tuple(k for k in record if k not in format_keys)
    tools = None
    if "tools" in format_keys:
        tools = record.get("tools") or record.get("functions")  # `functions`: OpenAI's legacy name
    conversation = Conversation(
        index=index,
        line=line,
        format=source_format,
        messages=tuple(messages),
        tools=None if tools is None else to_json_text(tools),
        extra_keys=extra,
        preference=preference,
    )
    return conversation, tuple(ctx.issues)


def prepare_record(raw: dict[str, Any], options: IngestOptions, ctx: MessageContext) -> dict[str, Any]:
    """Apply the column mapping and parse list fields that arrive as JSON text."""
    record = raw
    mapping = options.column_mapping
    message_keys: dict[str, str] = {}
    if mapping:
        message_keys = {mapping[k]: k for k in MESSAGE_FIELDS if k in mapping}
        top = {field: column for field, column in mapping.items() if field not in MESSAGE_FIELDS}
        used = set(top.values())
        record = {field: raw[column] for field, column in top.items() if column in raw}
        record.update((k, v) for k, v in raw.items() if k not in used and k not in record)
    for field, value in list(record.items()):
        if message_keys and isinstance(value, list) and field in CHAT_LIST_FIELDS:
            record[field] = [rename_keys(item, message_keys) for item in value]
        if type(value) is not str or value[:1] != "[":
            continue
        if field in LIST_TEXT_FIELDS:
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                ctx.add("invalid_json", f"the {field!r} field holds text that is not valid JSON ({exc}).")
                continue
        elif field in MAYBE_CHAT_TEXT_FIELDS:
            parsed = parse_chat_text(value)
            if parsed is None:
                continue  # a prompt or answer that merely looks like JSON is still text
        else:
            continue
        if record is raw:
            record = dict(raw)
        record[field] = parsed
    return record


def rename_keys(item: Any, names: dict[str, str]) -> Any:
    """A message written with the user's own key names, with the canonical ones (role, content)."""
    if not isinstance(item, dict):
        return item
    return {names.get(key, key): value for key, value in item.items()}


def parse_chat_text(value: str) -> list[Any] | None:
    """The messages a text holds when it is a JSON list of {"role": ...} objects, else None."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if isinstance(parsed, list) and parsed and all(isinstance(m, dict) and "role" in m for m in parsed):
        return parsed
    return None


def convert_openai(record: dict[str, Any], ctx: MessageContext) -> list[Message] | None:
    key = "messages" if "messages" in record else "conversations"
    items = record[key]
    if not isinstance(items, list):
        ctx.add("missing_messages", f"{key!r} is {describe_type(items)}, not a list of messages.")
        return None
    return [m for i, item in enumerate(items) if (m := convert_openai_message(item, i, ctx)) is not None]


def convert_sharegpt(record: dict[str, Any], ctx: MessageContext) -> list[Message] | None:
    key = "conversations" if "conversations" in record else "messages"
    items = record[key]
    if not isinstance(items, list):
        ctx.add("missing_messages", f"{key!r} is {describe_type(items)}, not a list of turns.")
        return None
    messages = system_messages(record, ctx)
    messages.extend(
        m for i, item in enumerate(items) if (m := convert_sharegpt_turn(item, i, ctx)) is not None
    )
    return messages


def system_messages(record: dict[str, Any], ctx: MessageContext) -> list[Message]:
    """The top-level `system` field as a leading system message (an empty one is no message)."""
    system = record.get("system")
    if system is None or system == "":
        return []
    if not isinstance(system, str):
        system = flatten_content(system, "the system field", ctx)
    return [Message(role="system", content=system)]


def text_field(record: dict[str, Any], key: str, ctx: MessageContext) -> str:
    value = record.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return flatten_content(value, f"the {key!r} field", ctx)


def convert_alpaca(record: dict[str, Any], ctx: MessageContext) -> list[Message]:
    instruction = text_field(record, "instruction", ctx)
    extra_input = text_field(record, "input" if "input" in record else "context", ctx)
    prompt = f"{instruction}\n\n{extra_input}" if instruction and extra_input else instruction or extra_input
    output_key = "output" if "output" in record else "response"
    output = text_field(record, output_key, ctx)
    if not prompt:
        ctx.add("missing_content", "the record has no instruction or input text.")
    if record.get(output_key) is None:
        ctx.add("missing_content", f"the record has no {output_key!r} text.")
    messages = system_messages(record, ctx)
    messages.extend(convert_history(record.get("history"), ctx))
    messages.append(Message(role="user", content=prompt))
    messages.append(Message(role="assistant", content=output))
    return messages


def convert_history(history: Any, ctx: MessageContext) -> list[Message]:
    """Alpaca `history`: earlier [user, assistant] pairs, placed before the final turn."""
    if history is None or history == []:
        return []
    if not isinstance(history, list):
        ctx.add(
            "invalid_history",
            f"'history' is {describe_type(history)}, not a list of [user, assistant] pairs.",
        )
        return []
    messages: list[Message] = []
    for number, pair in enumerate(history):
        if not (isinstance(pair, list) and len(pair) == 2):
            ctx.add(
                "invalid_history", f"history entry {number} is not a [user, assistant] pair; it was left out."
            )
            continue
        for role, value in zip(("user", "assistant"), pair, strict=True):
            text = value if isinstance(value, str) else flatten_content(value, f"history entry {number}", ctx)
            messages.append(Message(role=role, content=text))
    return messages


def convert_turns(value: Any, key: str, default_role: str, ctx: MessageContext) -> list[Message]:
    """A prompt/completion/chosen value: plain text, or a list of chat messages."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [m for i, item in enumerate(value) if (m := convert_openai_message(item, i, ctx)) is not None]
    if value is None:
        ctx.add("missing_content", f"the record has no {key!r} text.")
        return [Message(role=default_role, content="")]
    text = value if isinstance(value, str) else flatten_content(value, f"the {key!r} field", ctx)
    return [Message(role=default_role, content=text)]


def convert_prompt_completion(record: dict[str, Any], ctx: MessageContext) -> list[Message]:
    completion_key = "completion" if "completion" in record else "response"
    messages = system_messages(record, ctx)
    messages.extend(convert_turns(record.get("prompt"), "prompt", "user", ctx))
    messages.extend(convert_turns(record.get(completion_key), completion_key, "assistant", ctx))
    return messages


def convert_text(record: dict[str, Any], ctx: MessageContext) -> list[Message]:
    text = text_field(record, "text", ctx)
    if not text:
        ctx.add("missing_content", "the record's 'text' is empty.")
    return [Message(role="user", content=text)]


# Chat formats; the preference formats have their own table (preference.PREFERENCE_CONVERTERS).
CONVERTERS: dict[SourceFormat, Callable[[dict[str, Any], MessageContext], list[Message] | None]] = {
    SourceFormat.OPENAI: convert_openai,
    SourceFormat.SHAREGPT: convert_sharegpt,
    SourceFormat.ALPACA: convert_alpaca,
    SourceFormat.PROMPT_COMPLETION: convert_prompt_completion,
    SourceFormat.TEXT: convert_text,
}
