"""Turning one written message (OpenAI or ShareGPT shape) into a canonical `Message`.

Issues are collected in a plain list owned by the caller, so the common case (a clean
message) allocates nothing beyond the `Message` itself.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from backend.core.conversation import Message, RecordIssue
from backend.core.ingest.record import make_issue

# Role names seen in the wild, lower-cased, mapped to the canonical role. ShareGPT's `from`
# values and the few aliases other tools write in OpenAI-shaped messages share one table.
ROLE_ALIASES: dict[str, str] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
    "ipython": "tool",
}

# Message keys that belong to the OpenAI chat format; anything else is reported once per record.
OPENAI_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "function_call", "weight", "refusal", "loss_weight"}
)
# Roles a plain {"role", "content"} message can take without any further work (a tool result
# may need linking to its call, so it takes the full path).
PLAIN_ROLES = frozenset({"system", "user", "assistant"})


class MessageContext:
    """Per-record state while converting messages: issues and tool-call ids awaiting a result."""

    __slots__ = ("index", "line", "issues", "pending_call_ids", "next_call_number", "role_mapping")

    def __init__(self, index: int, line: int | None, role_mapping: dict[str, str] | None = None) -> None:
        self.index = index
        self.line = line
        self.role_mapping = role_mapping  # the user's own role names, checked before ROLE_ALIASES
        self.issues: list[RecordIssue] = []
        self.pending_call_ids: list[str] = []
        self.next_call_number = 0

    def add(self, code: str, message: str, severity: str = "error") -> None:
        self.issues.append(make_issue(self.index, self.line, code, message, severity))  # type: ignore[arg-type]

    def new_call_id(self) -> str:
        # Deterministic ids so a tool result written without one can be linked to its call.
        self.next_call_number += 1
        return f"call_{self.next_call_number}"

    def take_pending_call_id(self) -> str | None:
        return self.pending_call_ids.pop(0) if self.pending_call_ids else None


def describe_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def flatten_content(value: Any, where: str, ctx: MessageContext) -> str:
    """Text of a content value that is not a plain string, reporting what was done to it."""
    if isinstance(value, list):
        texts: list[str] = []
        left_out: list[str] = []
        for part in value:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("value"), str):
                texts.append(part["value"])  # LLaMA-Factory v1's typed parts: {"type": "text", "value": ...}
            elif isinstance(part, dict):
                left_out.append(str(part.get("type", "untyped")))
            else:
                texts.append(to_json_text(part))
        if len(value) == 1 and len(texts) == 1 and isinstance(value[0], dict):
            return texts[0]  # one typed text part (OpenAI content parts, LLaMA-Factory v1): nothing changed
        note = f"; left out non-text parts: {', '.join(left_out)}" if left_out else ""
        ctx.add(
            "non_string_content",
            f"{where} has content as a list of {len(value)} parts; its text parts were joined{note}.",
            "warning",
        )
        return "\n".join(texts)
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        text: str = value["text"]
    else:
        text = "" if value is None else to_json_text(value)
    ctx.add(
        "non_string_content",
        f"{where} has content that is {describe_type(value)}, not a string; it was converted to text.",
        "warning",
    )
    return text


def to_json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # Parquet dates and decimals, integers over 64 bits, nesting past orjson's limit
        pass
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return "[a value nested too deeply to show as text]"


def normalize_role(written: Any, where: str, ctx: MessageContext) -> str:
    if isinstance(written, str):
        key = written.strip().lower()
        canonical = (ctx.role_mapping or {}).get(key) or ROLE_ALIASES.get(key)
        if canonical is not None:
            return canonical
        ctx.add(
            "unknown_role",
            f"{where} has role {written!r}, which is none of system, user, assistant or tool; "
            "it was kept as written.",
        )
        return written
    if written is None:
        ctx.add("missing_role", f"{where} has no role.")
        return ""
    ctx.add("unknown_role", f"{where} has a role that is {describe_type(written)}, not a string.")
    return to_json_text(written)


def read_weight(value: Any, where: str, ctx: MessageContext) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value not in (0, 1):
            ctx.add("invalid_weight", f"{where} has weight {value}; OpenAI accepts only 0 or 1.", "warning")
        return float(value)
    ctx.add("invalid_weight", f"{where} has weight {value!r}, not a number; it was ignored.", "warning")
    return None


def make_tool_call(call: Any, where: str, ctx: MessageContext) -> dict[str, Any] | None:
    """One call in OpenAI's shape {"id", "type", "function": {"name", "arguments": str}}."""
    if not isinstance(call, dict):
        ctx.add("invalid_tool_call", f"{where} has a tool call that is {describe_type(call)}, not an object.")
        return None
    function = call.get("function", call)  # a bare {"name", "arguments"} is a legacy function_call
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        ctx.add("invalid_tool_call", f"{where} has a tool call without a function name.")
        return None
    arguments = function.get("arguments", "")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        call_id = ctx.new_call_id()
    ctx.pending_call_ids.append(call_id)
    return {
        "id": call_id,
        "type": call.get("type", "function"),
        "function": {"name": function["name"], "arguments": to_json_text(arguments)},
    }


def make_tool_calls(calls: Any, where: str, ctx: MessageContext) -> tuple[dict[str, Any], ...] | None:
    if not isinstance(calls, list):
        ctx.add("invalid_tool_call", f"{where} has tool_calls that is {describe_type(calls)}, not a list.")
        return None
    made = [made for call in calls if (made := make_tool_call(call, where, ctx)) is not None]
    return tuple(made) if made else None


def convert_openai_message(item: Any, position: int, ctx: MessageContext) -> Message | None:
    """An OpenAI chat message; `position` is its 0-based place in the list, for messages."""
    if type(item) is dict and len(item) == 2:  # the common case, kept cheap: 100k records/s matter
        role = item.get("role")
        content = item.get("content")
        if type(content) is str and role in PLAIN_ROLES and ctx.role_mapping is None:
            return Message(role=role, content=content)
    where = f"message {position}"
    if not isinstance(item, dict):
        ctx.add("message_not_an_object", f"{where} is {describe_type(item)}, not an object; it was left out.")
        return None
    role = normalize_role(item.get("role"), where, ctx)
    tool_calls = None
    if "tool_calls" in item and item["tool_calls"] is not None:
        tool_calls = make_tool_calls(item["tool_calls"], where, ctx)
    elif item.get("function_call") is not None:
        tool_calls = make_tool_calls([item["function_call"]], where, ctx)
    has_calls = tool_calls is not None
    content = item.get("content")
    if type(content) is not str:
        if content is None and has_calls:
            content = ""  # an assistant turn that only calls tools has null content by design
        elif "content" not in item:
            ctx.add("missing_content", f"{where} ({role or 'no role'}) has no content.")
            content = ""
        else:
            content = flatten_content(content, where, ctx)
    tool_call_id = item.get("tool_call_id")
    if role == "tool" and not isinstance(tool_call_id, str):
        tool_call_id = ctx.take_pending_call_id()
    elif tool_call_id is not None and not isinstance(tool_call_id, str):
        tool_call_id = to_json_text(tool_call_id)
    if not OPENAI_MESSAGE_KEYS.issuperset(item):
        unknown = ", ".join(sorted(str(k) for k in item if k not in OPENAI_MESSAGE_KEYS))
        ctx.add(
            "unrecognized_message_key", f"{where} has keys outside the chat format: {unknown}.", "warning"
        )
    name = item.get("name")
    return Message(
        role=role,
        content=content,
        name=name if isinstance(name, str) else None,
        tool_calls=tool_calls,
        tool_call_id=tool_call_id,
        weight=read_weight(item.get("weight", item.get("loss_weight")), where, ctx)
        if "weight" in item or "loss_weight" in item  # loss_weight: LLaMA-Factory v1's name for it
        else None,
    )


def convert_sharegpt_turn(item: Any, position: int, ctx: MessageContext) -> Message | None:
    """A ShareGPT turn {"from", "value"}; `function_call` turns become assistant tool calls."""
    where = f"turn {position}"
    if not isinstance(item, dict):
        ctx.add("message_not_an_object", f"{where} is {describe_type(item)}, not an object; it was left out.")
        return None
    written = item.get("from")
    value = item.get("value")
    if type(value) is not str:
        if "value" not in item:
            ctx.add("missing_content", f"{where} ({written}) has no value.")
            value = ""
        else:
            value = flatten_content(value, where, ctx)
    weight = read_weight(item.get("weight"), where, ctx) if "weight" in item else None
    if isinstance(written, str) and written.strip().lower() == "function_call":
        return convert_sharegpt_call(value, where, weight, ctx)
    role = normalize_role(written, where, ctx)
    tool_call_id = ctx.take_pending_call_id() if role == "tool" else None
    name = item.get("name")
    return Message(
        role=role,
        content=value,
        name=name if isinstance(name, str) else None,
        tool_call_id=tool_call_id,
        weight=weight,
    )


def convert_sharegpt_call(value: str, where: str, weight: float | None, ctx: MessageContext) -> Message:
    try:
        call = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        ctx.add(
            "invalid_tool_call",
            f"{where} is a function_call whose value is not valid JSON ({exc}); it was kept as text.",
        )
        return Message(role="assistant", content=value, weight=weight)
    calls = call if isinstance(call, list) else [call]
    tool_calls = make_tool_calls(calls, where, ctx)
    if tool_calls is None:
        return Message(role="assistant", content=value, weight=weight)
    return Message(role="assistant", content="", tool_calls=tool_calls, weight=weight)
