"""The canonical conversation that every input format is converted to.

Record numbers: `index` is the 0-based position of a record among the file's records
(blank JSONL lines are not records, so a JSONL file and a JSON array holding the same
records number them the same); `line` is the 1-based line where the record starts, for
line-oriented containers (JSONL, CSV), and None for a JSON array (where `index` is the
array index) or Parquet (row number = index).

Preference data (DPO pairs, KTO-style labelled answers) is a Conversation with `preference` set.
Its `messages` are the prompt turns followed by the preferred answer (paired: the chosen one;
unpaired: the labelled completion), so every per-example check and count reads it like a chat.
Its canonical JSON (`to_json`, what the analysis store holds and trainers read) keeps the parts
apart, one-to-one with TRL's conversational preference columns:

    paired    {"messages": [prompt turns], "chosen": [answer], "rejected": [answer]}
    unpaired  {"messages": [prompt turns], "completion": [answer], "label": true | false}

The prompt turns are an optional system message, then user/assistant turns ending with a user
turn; each answer is a list of messages (usually one assistant message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
CANONICAL_ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")

Severity = Literal["error", "warning", "info"]


class SourceFormat(StrEnum):
    """The format a record was written in, as detected per record."""

    OPENAI = "openai_messages"  # {"messages": [{"role", "content", ...}]} (also under "conversations")
    SHAREGPT = "sharegpt"  # {"conversations": [{"from", "value"}], "system"?, "tools"?}
    ALPACA = "alpaca"  # {"instruction", "input"?, "output", "system"?, "history"?}
    PROMPT_COMPLETION = "prompt_completion"  # {"prompt", "completion"}
    TEXT = "text"  # {"text"}: raw text, no turns
    # preference data (Conversation.preference is set)
    PREFERENCE = "trl_prompt_chosen_rejected"  # TRL's {"prompt", "chosen", "rejected"}: DPO pairs
    TRL_UNPAIRED = "trl_prompt_completion_label"  # TRL's {"prompt", "completion", "label"}: KTO-style
    SHAREGPT_PREFERENCE = "sharegpt_chosen_rejected"  # LLaMA-Factory: conversations + chosen + rejected
    KTO = "kto_messages_label"  # LLaMA-Factory: {"messages", "label": bool}
    LLAMAFACTORY_V1 = "llamafactory_v1"  # LLaMA-Factory v1: chosen_messages / rejected_messages
    UNKNOWN = "unknown"


PREFERENCE_FORMATS: frozenset[SourceFormat] = frozenset(
    {
        SourceFormat.PREFERENCE,
        SourceFormat.TRL_UNPAIRED,
        SourceFormat.SHAREGPT_PREFERENCE,
        SourceFormat.KTO,
        SourceFormat.LLAMAFACTORY_V1,
    }
)


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # one of CANONICAL_ROLES once converted; an unknown role is kept as written and reported
    content: str  # always a string; non-string content is flattened by ingest and reported
    name: str | None = None
    tool_calls: tuple[dict[str, Any], ...] | None = None  # OpenAI shape: {"id", "type", "function": {...}}
    tool_call_id: str | None = None
    weight: float | None = None  # OpenAI's per-message training weight (0 or 1)


PreferenceKind = Literal["paired", "unpaired"]


@dataclass(frozen=True, slots=True)
class Preference:
    """What makes a Conversation preference data (see the module docstring)."""

    kind: PreferenceKind
    prompt_turns: int  # the first `prompt_turns` messages are the prompt; the rest is the preferred answer
    rejected: tuple[Message, ...] = ()  # paired: the rejected answer
    label: bool | None = None  # unpaired: whether the answer is a good one (KTO's desirable / undesirable)


@dataclass(frozen=True, slots=True)
class Conversation:
    index: int
    line: int | None
    format: SourceFormat
    messages: tuple[Message, ...]
    tools: str | None = None  # the tool schema as given (JSON text), for tool-calling data
    extra_keys: tuple[str, ...] = ()  # top-level keys outside the detected format, kept for the report
    preference: Preference | None = None

    def to_json(self, message_dicts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The JSON shape used by the API preview, the canonical store and the notebook.

        `message_dicts`: message_to_json of every message, when the caller has them already.
        """
        dicts = [message_to_json(m) for m in self.messages] if message_dicts is None else message_dicts
        pref = self.preference
        if pref is None:
            out: dict[str, Any] = {"messages": dicts}
        else:
            prompt, answer = dicts[: pref.prompt_turns], dicts[pref.prompt_turns :]
            if pref.kind == "paired":
                out = {"messages": prompt, "chosen": answer, "rejected": [message_to_json(m) for m in pref.rejected]}
            else:
                out = {"messages": prompt, "completion": answer, "label": bool(pref.label)}
        if self.tools is not None:
            out["tools"] = self.tools
        return out


def message_to_json(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.name is not None:
        out["name"] = m.name
    if m.tool_calls is not None:
        out["tool_calls"] = list(m.tool_calls)
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.weight is not None:
        # 0 and 1 (the values OpenAI accepts) stay integers, as written: 1, not 1.0
        out["weight"] = int(m.weight) if m.weight.is_integer() else m.weight
    return out


@dataclass(frozen=True, slots=True)
class RecordIssue:
    """One problem found in one record, with where it is and what a person should know."""

    index: int  # record number (0-based); for an unparseable line, the number it would have had
    line: int | None
    code: str  # stable machine-readable name, e.g. "invalid_json"
    message: str  # human sentence: what is wrong and, where useful, what to do
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    """What the recommender and the notebook planner need to know about a dataset.

    Built from an analysis Report (see backend.core.analysis); kept small and explicit so
    the recommender does not depend on the report's full shape.
    """

    num_examples: int
    total_tokens: int
    p95_tokens: int
    max_tokens: int
    mean_assistant_tokens: float
    system_prompt_share: float  # 0..1, examples with a system message
    multi_turn_share: float  # 0..1, examples with more than one user turn
    non_alternating_share: float  # 0..1, examples with two consecutive turns of the same role
    tool_call_share: float  # 0..1, examples with tool calls or tool results
    json_output_share: float  # 0..1, examples whose assistant replies parse as JSON objects/arrays
    languages: dict[str, float] = field(default_factory=dict)  # ISO 639-1 code -> share of examples
    tokenizer: str = "cl100k_base"
    tokens_exact: bool = True
