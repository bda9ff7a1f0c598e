"""The structural checks of checks.check_conversation, for a whole batch at once, with numpy.

A worker sees thousands of examples per batch; asking each one in Python whether it has a user
turn, starts with the assistant or repeats a role costs most of the per-example time. Here each
message becomes a few numbers (its role, the length of its stripped content, whether it calls a
tool) in one pass, and every check is an array operation over the batch. The per-conversation
functions in checks.py stay the reference: tests check that both give the same codes and flags.

What is left to Python, per example: PII (regexes), parsing replies that open like JSON,
unanswered tool calls (only examples with calls) and the ingest issues.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from backend.core.analysis.checks import SHORT_REPLY_CHARS, has_json_output, has_unanswered_tool_call
from backend.core.analysis.columns import HAS_SYSTEM, JSON_OUTPUT, MULTI_TURN, NON_ALTERNATING, TOOL_USE
from backend.core.conversation import Conversation

_ROLE_CODES = {"system": 0, "user": 1, "assistant": 2, "tool": 3}
_UNKNOWN_ROLE = 4
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BatchStructure:
    codes: dict[str, Mask]  # structural check code -> which examples of the batch have it
    flags: list[int]  # per example: HAS_SYSTEM | MULTI_TURN | NON_ALTERNATING | TOOL_USE | JSON_OUTPUT
    chars: list[int]  # per example: characters of all message contents
    # per example, for the OpenAI cookbook's verdict on plain records (openai_format.verdict_of_counts)
    unknown_roles: list[int]  # messages whose role is none of the canonical ones
    empty_contents: list[int]  # messages with "" as content and no tool calls
    role_counts: list[list[int]]  # system, user, assistant, tool, unknown


def check_batch(convs: list[Conversation]) -> BatchStructure:
    n = len(convs)
    if n == 0:
        return BatchStructure({}, [], [], [], [], [])
    sizes = [len(c.messages) for c in convs]
    messages = [m for c in convs for m in c.messages]
    unknown: dict[str, int] = {}  # each unknown role name its own code (>= 4), so "bot", "robot" differ
    written = np.array(
        [_ROLE_CODES.get(m.role) or unknown.setdefault(m.role, _UNKNOWN_ROLE + len(unknown))
         if m.role != "system" else 0 for m in messages], dtype=np.int64)
    role = np.minimum(written, _UNKNOWN_ROLE)
    stripped = np.array([len(m.content.strip()) for m in messages], dtype=np.int64)
    length = np.array([len(m.content) for m in messages], dtype=np.int64)
    calls = np.array([bool(m.tool_calls) for m in messages], dtype=bool)
    owner = np.repeat(np.arange(n), sizes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    has_messages = np.array(sizes, dtype=np.int64) > 0

    per_role = np.bincount(owner * 5 + role, minlength=n * 5).reshape(n, 5)

    def any_of(mask: Mask) -> Mask:
        return np.bincount(owner[mask], minlength=n) > 0

    non_system = np.flatnonzero(role != 0)
    first_turn = np.full(n, -1, dtype=np.int64)
    firsts, where = np.unique(owner[non_system], return_index=True)
    first_turn[firsts] = role[non_system[where]]
    last_role = np.full(n, -1, dtype=np.int64)
    last_role[has_messages] = role[(starts + np.array(sizes, dtype=np.int64) - 1)[has_messages]]
    same_as_previous = np.zeros(role.size, dtype=bool)
    same_as_previous[1:] = (written[1:] == written[:-1]) & (owner[1:] == owner[:-1]) & (role[1:] != 3)
    empty = ~calls & (stripped == 0)
    short = ~calls & (stripped > 0) & (role == 2) & (stripped < SHORT_REPLY_CHARS)

    consecutive = any_of(same_as_previous)
    codes: dict[str, Mask] = {
        "missing_assistant": per_role[:, 2] == 0,
        "missing_user": per_role[:, 1] == 0,
        "assistant_first": first_turn == 2,
        "consecutive_same_role": consecutive,
        "not_ending_with_assistant": has_messages & (last_role != 2),
        "empty_content": any_of(empty),
        "short_reply": any_of(short),
        "unknown_role": per_role[:, _UNKNOWN_ROLE] > 0,
        "extra_keys": np.array([bool(c.extra_keys) for c in convs], dtype=bool),
    }
    with_calls = any_of(calls)
    unanswered = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(with_calls).tolist():
        unanswered[i] = has_unanswered_tool_call(convs[i].messages)
    codes["tool_call_without_result"] = unanswered

    tool_use = with_calls | (per_role[:, 3] > 0) | np.array([c.tools is not None for c in convs], dtype=bool)
    flags = (
        (per_role[:, 0] > 0) * HAS_SYSTEM
        | (per_role[:, 1] > 1) * MULTI_TURN
        | consecutive * NON_ALTERNATING
        | tool_use * TOOL_USE
    ).tolist()
    # JSON replies: parsed only where every reply (tool calls aside) at least opens like JSON
    reply = ~calls & (role == 2)
    opens = np.array([m.content.lstrip()[:1] in ("{", "[") for m in messages], dtype=bool)
    replies = np.bincount(owner[reply], minlength=n)
    json_like = np.bincount(owner[reply & opens], minlength=n)
    for i in np.flatnonzero((replies > 0) & (json_like == replies)).tolist():
        if has_json_output(convs[i]):
            flags[i] |= JSON_OUTPUT
    chars = np.bincount(owner, weights=length, minlength=n).astype(np.int64).tolist()
    empty_contents = np.bincount(owner[~calls & (length == 0)], minlength=n).tolist()
    return BatchStructure(codes, flags, chars, per_role[:, _UNKNOWN_ROLE].tolist(), empty_contents,
                          per_role.tolist())
