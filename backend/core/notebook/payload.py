"""The dataset as the notebook carries it: checked, counted, and (when embedded) compressed.

Embedded data is gzip + base64 of canonical JSONL. Base64's alphabet holds no quote, backslash,
brace, percent sign or angle bracket, so whatever the examples contain (quotes, `\"\"\"`, `{{ }}`,
`</script>`, NUL, a line starting with `%%`) it can neither break the Python string literal that
holds it nor inject code or markup. A SHA-256 of the JSONL lets the notebook prove it decoded the
same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from backend.core.conversation import CANONICAL_ROLES
from backend.core.errors import InvalidInputError, PayloadTooLargeError

# Above this much canonical JSONL the notebook loads its data from a URL or a Hub dataset: a
# notebook of tens of MB is slow to open in Colab and awkward to put in a gist.
EMBED_LIMIT_BYTES = 24 * 1024 * 1024
GZIP_LEVEL = 6
MAX_SKIPPED_LISTED = 20
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

SourceKind = Literal["embedded", "url", "hub"]
Objective = Literal["sft", "dpo"]
UNPAIRED = (
    "it is an unpaired preference answer (KTO-style, labelled good or bad): not trained as SFT, and DPO needs "
    "a chosen and a rejected answer to the same prompt"
)
NOT_A_PAIR = "it is not a chosen/rejected pair, and this dataset trains with DPO on its pairs"


@dataclass(frozen=True, slots=True)
class DataSource:
    """Where the notebook finds its data: inside itself, at a URL (JSONL, optionally .gz), or on the Hub."""

    kind: SourceKind = "embedded"
    location: str | None = None
    split: str = "train"

    def __post_init__(self) -> None:
        if self.kind == "embedded":
            return
        if not self.location:
            raise InvalidInputError(f"A {self.kind} data source needs a location.", field="data_source")
        if self.kind == "url" and not self.location.startswith(("https://", "http://")):
            raise InvalidInputError(
                "The dataset URL must start with https:// (or http://).", field="data_source"
            )
        if self.kind == "hub" and not HUB_ID_PATTERN.match(self.location):
            raise InvalidInputError(
                f"{self.location!r} is not a Hub dataset id; write it as owner/name.", field="data_source"
            )


@dataclass(frozen=True, slots=True)
class EmbeddedData:
    base64_gzip: str
    sha256: str  # of the uncompressed JSONL
    jsonl_bytes: int


@dataclass(frozen=True, slots=True)
class DataStats:
    """What one pass over the examples found; the notebook's summary reports it."""

    num_examples: int
    num_messages: int
    jsonl_bytes: int
    system_examples: int = 0
    tool_examples: int = 0
    non_alternating_examples: int = 0
    zero_weight_messages: int = 0
    skipped: tuple[tuple[int, str], ...] = ()  # (index, reason), the first few
    skipped_count: int = 0
    roles: dict[str, int] = field(default_factory=dict)
    eval_positions: tuple[int, ...] | None = None  # embedded lines held out for evaluation (leak-free split)
    objective: Objective = "sft"  # "dpo" when the data holds chosen/rejected pairs: never trained as SFT


@dataclass(slots=True)
class _Counter:
    examples: int = 0
    messages: int = 0
    jsonl_bytes: int = 0
    system: int = 0
    tools: int = 0
    non_alternating: int = 0
    zero_weight: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    skipped_count: int = 0
    roles: dict[str, int] = field(default_factory=dict)

    def skip(self, index: int, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append((index, reason))


def message_problem(messages: Any) -> str | None:
    """Why a list of messages is unusable ("empty", a message without text, an unknown role), or None."""
    if not isinstance(messages, list) or not messages:
        return "empty"
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return f"message {position} has no text content"
        if message.get("role") not in CANONICAL_ROLES:
            return f"message {position} has the unknown role {message.get('role')!r}"
    return None


def find_problem(example: Any) -> str | None:
    """Why a chat example cannot be trained on, or None when it can."""
    messages = example.get("messages") if isinstance(example, dict) else None
    problem = message_problem(messages)
    if problem is not None:
        return "it has no messages" if problem == "empty" else problem
    if not any(m["role"] == "assistant" and (m["content"] or m.get("tool_calls")) for m in messages):  # type: ignore[union-attr]
        return "it has no assistant reply to learn from"
    return None


def example_kind(example: Any) -> str:
    """"pair" (chosen/rejected), "unpaired" (completion + boolean label) or "chat"."""
    if isinstance(example, dict) and "chosen" in example and "rejected" in example:
        return "pair"
    if isinstance(example, dict) and "completion" in example and isinstance(example.get("label"), bool):
        return "unpaired"
    return "chat"


def find_pair_problem(example: dict[str, Any]) -> str | None:
    """Why a preference pair cannot be trained with DPO, or None."""
    sides = (("messages", "its prompt"), ("chosen", "its chosen answer"), ("rejected", "its rejected answer"))
    for side, label in sides:
        problem = message_problem(example.get(side))
        if problem is not None:
            return f"{label} is empty" if problem == "empty" else f"{label}: {problem}"
    if example["messages"][-1]["role"] != "user":
        return "its prompt does not end with a user turn"
    if not all(m["role"] == "assistant" for m in example["chosen"] + example["rejected"]):
        return "its chosen or rejected side holds a turn that is not the assistant's"
    return None


def count_example(counter: _Counter, example: dict[str, Any]) -> None:
    messages = example["messages"] + (example.get("chosen") or [])
    counter.examples += 1
    counter.messages += len(messages)
    roles = [m["role"] for m in messages]
    for role in roles:
        counter.roles[role] = counter.roles.get(role, 0) + 1
    if "system" in roles:
        counter.system += 1
    if example.get("tools") or "tool" in roles or any(m.get("tool_calls") for m in messages):
        counter.tools += 1
    turns = [r for r in roles if r != "system"]
    if any(a == b for a, b in zip(turns, turns[1:], strict=False)):
        counter.non_alternating += 1
    counter.zero_weight += sum(1 for m in messages if m.get("weight") == 0)


def prepare_data(
    examples: Iterable[dict[str, Any]],
    *,
    embed: bool,
    embed_limit_bytes: int = EMBED_LIMIT_BYTES,
    record_numbers: Sequence[int] | None = None,
    held_out: Collection[int] | None = None,
) -> tuple[DataStats, EmbeddedData | None]:
    """One pass: check and count every example and, when embedding, compress it as it goes.

    `record_numbers` are the examples' record numbers in the uploaded file, so left-out examples are named
    as the analysis report names them; without them, examples are numbered by position. `held_out` are
    positions (in `examples`) kept for evaluation; the stats name them by their line in the data written.
    """
    eval_lines: list[int] = []
    written = 0  # lines of data written so far (the eval split names held-out examples by their line)
    chat, pairs = _Counter(), _Counter()
    skipped = _Counter()  # only its skip list is used: left-out examples of either kind
    chat_numbers: list[int] = []  # the chat examples' record numbers, in case the pairs decide the objective
    digest = hashlib.sha256()
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    chunks: list[bytes] = []
    jsonl_bytes = 0
    for index, example in enumerate(examples):
        number = record_numbers[index] if record_numbers is not None else index
        kind = example_kind(example)
        problem = UNPAIRED if kind == "unpaired" else (
            find_pair_problem(example) if kind == "pair" else find_problem(example))
        if problem is not None:
            skipped.skip(number, problem)
            continue
        if held_out is not None and index in held_out:
            eval_lines.append(written)
        written += 1
        count_example(pairs if kind == "pair" else chat, example)
        if kind == "chat" and len(chat_numbers) < MAX_SKIPPED_LISTED:
            chat_numbers.append(number)
        line = orjson.dumps(example) + b"\n"
        jsonl_bytes += len(line)
        if embed:
            if jsonl_bytes > embed_limit_bytes:
                raise PayloadTooLargeError(
                    f"The dataset is over {embed_limit_bytes // (1024 * 1024)} MB as JSONL, too large to "
                    "embed in a notebook. Give the notebook its data another way: push it to the Hugging Face "
                    "Hub (POST /datasets/{session_id}/push, or `slmgen hub push`) and use that Hub dataset as "
                    "the data source, or export it (GET /datasets/{session_id}/export?format=canonical&gzip=true, "
                    "or `slmgen export`), put the file at a URL the notebook can read, and give that URL.",
                    code="dataset_too_large_to_embed",
                    limit_bytes=embed_limit_bytes,
                )
            digest.update(line)
            chunks.append(compressor.compress(line))
    objective: Objective = "dpo" if pairs.examples else "sft"
    counter = pairs if objective == "dpo" else chat
    counter.jsonl_bytes = jsonl_bytes
    counter.skipped, counter.skipped_count = skipped.skipped, skipped.skipped_count
    if objective == "dpo":  # chat examples ride along in the data but a DPO run leaves them out: say so
        for number in chat_numbers:
            counter.skip(number, NOT_A_PAIR)
        counter.skipped_count += chat.examples - len(chat_numbers)
        counter.skipped.sort()
    if counter.examples == 0:
        reason = counter.skipped[0][1] if counter.skipped else "the dataset is empty"
        raise InvalidInputError(
            f"No example can be trained on ({counter.skipped_count} left out; first reason: {reason}). "
            "Each example needs messages with a role and text, including at least one assistant reply.",
            code="no_trainable_examples",
        )
    stats = DataStats(
        num_examples=counter.examples,
        num_messages=counter.messages,
        jsonl_bytes=counter.jsonl_bytes,
        system_examples=counter.system,
        tool_examples=counter.tools,
        non_alternating_examples=counter.non_alternating,
        zero_weight_messages=counter.zero_weight,
        skipped=tuple(counter.skipped),
        skipped_count=counter.skipped_count,
        roles=dict(counter.roles),
        eval_positions=tuple(eval_lines) if held_out is not None else None,
        objective=objective,
    )
    if not embed:
        return stats, None
    chunks.append(compressor.flush())
    packed = base64.b64encode(b"".join(chunks)).decode("ascii")
    return stats, EmbeddedData(base64_gzip=packed, sha256=digest.hexdigest(), jsonl_bytes=jsonl_bytes)
