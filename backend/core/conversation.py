"""The canonical conversation that every input format is converted to.

Record numbers: `index` is the 0-based position of a record among the file's records
(blank JSONL lines are not records, so a JSONL file and a JSON array holding the same
records number them the same); `line` is the 1-based line where the record starts, for
line-oriented containers (JSONL, CSV), and None for a JSON array (where `index` is the
array index) or Parquet (row number = index).
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
    PREFERENCE = "preference"  # {"prompt", "chosen", "rejected"}: DPO-style pairs
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # one of CANONICAL_ROLES once converted; an unknown role is kept as written and reported
    content: str  # always a string; non-string content is flattened by ingest and reported
    name: str | None = None
    tool_calls: tuple[dict[str, Any], ...] | None = None  # OpenAI shape: {"id", "type", "function": {...}}
    tool_call_id: str | None = None
    weight: float | None = None  # OpenAI's per-message training weight (0 or 1)


@dataclass(frozen=True, slots=True)
class Conversation:
    index: int
    line: int | None
    format: SourceFormat
    messages: tuple[Message, ...]
    tools: str | None = None  # the tool schema as given (JSON text), for tool-calling data
    extra_keys: tuple[str, ...] = ()  # top-level keys outside the detected format, kept for the report

    def to_json(self) -> dict[str, Any]:
        """The JSON shape used by the API preview, the canonical store and the notebook."""
        out: dict[str, Any] = {"messages": [message_to_json(m) for m in self.messages]}
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
        out["weight"] = m.weight
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
