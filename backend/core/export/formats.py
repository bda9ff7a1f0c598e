"""One canonical example -> one record of an export format, or the reason the format cannot carry it.

    canonical  {"messages": [...], "tools"?: "<JSON text>"}: exactly what the analysis store holds.
    openai     OpenAI's chat fine-tuning shape: {"messages": [...], "tools"?: [...]}. `tools` is written
               as the JSON list it holds (bare function schemas wrapped as {"type": "function", ...});
               tool schemas that are not valid JSON stay text, as given (lossless fallback). An assistant
               turn that only calls tools gets `"content": null`, as OpenAI writes it.
    sharegpt   LLaMA-Factory's ShareGPT: {"conversations": [{"from", "value"}], "system"?, "tools"?}
               with human/gpt/observation turns and tool calls as `function_call` turns whose value is
               the call as JSON ({"name", "arguments"}, a list for parallel calls). A leading system
               message becomes `system`; a later one stays a `system` turn. Per-message `name` and
               `weight` are kept on the turn (extra keys). Tool-call ids are not part of the format:
               tool results follow their calls in order, and reading the file back numbers the calls.
               Cannot carry: an assistant turn with both text and tool calls.
    alpaca     {"instruction", "input": "", "output", "system"?, "history"?: [[user, assistant], ...]}.
               Carries an optional leading system prompt, then user/assistant pairs ending with the
               assistant. Cannot carry: tools or tool calls, tool turns, names, weights, other orders.

A format that cannot carry an example raises CannotCarry (never a silent drop); check_export lists
every such example before an export starts.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import orjson


class ExportFormat(StrEnum):
    CANONICAL = "canonical"
    OPENAI = "openai"
    SHAREGPT = "sharegpt"
    ALPACA = "alpaca"


class CannotCarry(Exception):  # noqa: N818 - a per-example verdict, turned into a CoreError by the caller
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Example = dict[str, Any]
SHAREGPT_ROLES = {"user": "human", "assistant": "gpt", "tool": "observation", "system": "system"}


def to_canonical(example: Example) -> Example:
    return example


def to_openai(example: Example) -> Example:
    messages = []
    for m in example["messages"]:
        out = dict(m)
        if out.get("tool_calls") and not out.get("content"):
            out["content"] = None
        messages.append(out)
    record: Example = {"messages": messages}
    if example.get("tools") is not None:
        record["tools"] = _openai_tools(example["tools"])
    return record


def _openai_tools(text: str) -> Any:
    try:
        tools = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text  # not JSON: kept as given rather than lost
    if isinstance(tools, dict):
        tools = [tools]
    if not isinstance(tools, list):
        return text
    return [t if isinstance(t, dict) and "type" in t else {"type": "function", "function": t} for t in tools]


def to_sharegpt(example: Example) -> Example:
    messages = list(example["messages"])
    record: Example = {}
    if messages and messages[0]["role"] == "system" and messages[0]["content"] and _plain(messages[0]):
        record["system"] = messages.pop(0)["content"]
    turns = []
    for m in messages:
        if m.get("tool_calls"):
            if m["content"].strip():
                raise CannotCarry("an assistant turn holds both text and tool calls, which ShareGPT keeps apart")
            calls = [{"name": c["function"]["name"], "arguments": _arguments(c["function"]["arguments"])}
                     for c in m["tool_calls"]]
            turn: Example = {"from": "function_call",
                             "value": orjson.dumps(calls[0] if len(calls) == 1 else calls).decode()}
        else:
            turn = {"from": SHAREGPT_ROLES.get(m["role"], m["role"]), "value": m["content"]}
        for key in ("name", "weight"):
            if m.get(key) is not None:
                turn[key] = m[key]
        turns.append(turn)
    record = {"conversations": turns, **record}
    if example.get("tools") is not None:
        record["tools"] = example["tools"]
    return record


def _plain(message: Example) -> bool:
    return message.get("name") is None and message.get("weight") is None


def _arguments(text: str) -> Any:
    try:
        return orjson.loads(text)  # LLaMA-Factory writes arguments as an object, not as JSON text
    except orjson.JSONDecodeError:
        return text


def to_alpaca(example: Example) -> Example:
    if example.get("tools") is not None:
        raise CannotCarry("it has a tool schema, which Alpaca has no place for")
    messages = list(example["messages"])
    for m in messages:
        if m.get("tool_calls") or m["role"] == "tool":
            raise CannotCarry("it has tool calls or tool results, which Alpaca has no place for")
        if not _plain(m):
            raise CannotCarry("a message has a name or a training weight, which Alpaca has no place for")
    record: Example = {}
    if messages and messages[0]["role"] == "system":
        record["system"] = messages.pop(0)["content"]
    roles = [m["role"] for m in messages]
    if not roles or len(roles) % 2 or roles != ["user", "assistant"] * (len(roles) // 2):
        raise CannotCarry("Alpaca needs user/assistant pairs ending with the assistant (after one system prompt)")
    pairs = [[messages[i]["content"], messages[i + 1]["content"]] for i in range(0, len(messages), 2)]
    last_user, last_reply = pairs.pop()
    record = {"instruction": last_user, "input": "", "output": last_reply, **record}
    if pairs:
        record["history"] = pairs
    return record


CONVERTERS: dict[ExportFormat, Callable[[Example], Example]] = {
    ExportFormat.CANONICAL: to_canonical,
    ExportFormat.OPENAI: to_openai,
    ExportFormat.SHAREGPT: to_sharegpt,
    ExportFormat.ALPACA: to_alpaca,
}
ALWAYS_CARRIED = frozenset({ExportFormat.CANONICAL, ExportFormat.OPENAI})
