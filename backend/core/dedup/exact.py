"""Exact duplicates: 64-bit fingerprints of a conversation's canonical form, grouped in the parent.

Workers fingerprint their chunk of records; the parent groups all fingerprints at once. Two
records are the same conversation when their messages are the same, in the same order:
role, content, name, and tool calls (function name and arguments, compared as parsed JSON).
Preference data compares its rejected answer (or its label) too. Set aside: extra top-level keys,
record and line numbers, per-message training weights, tool call ids (generators make them up at
random) and, unless asked for, the tool schema (`tools`), so that a conversation repeated under
another tool list still counts as a repeat.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from backend.core.conversation import Conversation, Message

_DUMP_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
# The roles whose messages make up a prompt (what the model is given, not what it answers).
PROMPT_ROLES = frozenset({"system", "user"})


def conversation_fingerprint(conv: Conversation, *, include_tools: bool = False) -> int:
    """A 64-bit hash of the conversation's canonical form: equal conversations, equal fingerprints."""
    canonical: list[Any] = [_canonical_message(m) for m in conv.messages]
    if conv.preference is not None:  # a pair is the same pair only with the same rejected answer too
        pref = conv.preference
        canonical.append(["preference", pref.prompt_turns, pref.label, [_canonical_message(m) for m in pref.rejected]])
    if include_tools:
        canonical.append(["tools", _canonical_json_text(conv.tools)])
    return _hash64(canonical)


def prompt_fingerprint(conv: Conversation) -> int | None:
    """A 64-bit hash of the prompt: the system and user messages, in order, with their roles.

    The system message belongs to the prompt because the same question under another system
    prompt may rightly get another answer. None when the conversation has no user message.
    """
    prompt = [[m.role, m.content] for m in conv.messages if m.role in PROMPT_ROLES]
    if not any(role == "user" for role, _ in prompt):
        return None
    return _hash64(prompt)


def group_exact_duplicates(fingerprints: Sequence[int] | npt.NDArray[np.uint64]) -> list[list[int]]:
    """Groups of record numbers (positions in `fingerprints`) that share a fingerprint.

    Each group is sorted (first occurrence first), groups are ordered by their first record, and
    only groups of two or more are returned. The later records of each group are the duplicates.
    """
    keys = np.asarray(fingerprints, dtype=np.uint64)
    if keys.size < 2:
        return []
    order = np.argsort(keys, kind="stable")  # stable: equal keys stay in record order
    ordered = keys[order]
    run_starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    run_ends = np.append(run_starts[1:], keys.size)
    repeated = run_ends - run_starts >= 2
    groups = [
        order[start:end].tolist() for start, end in zip(run_starts[repeated], run_ends[repeated], strict=True)
    ]
    groups.sort(key=lambda group: group[0])
    return groups


def group_prompt_duplicates(
    prompt_fingerprints: Sequence[int | None], conversation_fingerprints: Sequence[int]
) -> list[list[int]]:
    """Records that ask the same prompt but answer it differently.

    Each group lists the first record of every distinct conversation sharing one prompt (so exact
    duplicates are not listed twice); only prompts with two or more different conversations count.
    """
    if len(prompt_fingerprints) != len(conversation_fingerprints):
        raise ValueError("prompt and conversation fingerprints must describe the same records")
    first_by_conversation: dict[tuple[int, int], int] = {}
    for record, (prompt, conversation) in enumerate(
        zip(prompt_fingerprints, conversation_fingerprints, strict=True)
    ):
        if prompt is not None:
            first_by_conversation.setdefault((prompt, conversation), record)
    by_prompt: dict[int, list[int]] = {}
    for (prompt, _), record in first_by_conversation.items():
        by_prompt.setdefault(prompt, []).append(record)
    groups = [sorted(records) for records in by_prompt.values() if len(records) >= 2]
    groups.sort(key=lambda group: group[0])
    return groups


def duplicate_records(groups: Sequence[Sequence[int]]) -> set[int]:
    """The records that repeat an earlier one: every member of a group but its first."""
    return {record for group in groups for record in group[1:]}


def _canonical_message(m: Message) -> list[Any]:
    calls = [_canonical_tool_call(call) for call in m.tool_calls] if m.tool_calls else None
    return [m.role, m.content, m.name, calls]


def _canonical_tool_call(call: dict[str, Any]) -> Any:
    function = call.get("function")
    if isinstance(function, dict):
        return [
            call.get("type", "function"),
            function.get("name"),
            _canonical_json_text(function.get("arguments")),
        ]
    return {key: value for key, value in call.items() if key != "id"}


def _canonical_json_text(value: Any) -> Any:
    """JSON given as text is compared parsed, so spacing and key order do not matter."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _hash64(canonical: Any) -> int:
    try:
        data = orjson.dumps(canonical, option=_DUMP_OPTIONS, default=repr)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits inside tool-call arguments
        data = json.dumps(canonical, sort_keys=True, default=repr, ensure_ascii=False).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")
