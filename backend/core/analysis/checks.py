"""Per-example checks over canonical Conversations, and what each finding means to a person.

A check returns the codes it finds in one conversation (each code at most once per example);
the pipeline counts examples per code and lists their record numbers. File-level findings
(mixed formats, system prompts, duplicates, truncation) are decided at merge time, but their
wording lives here too so that every issue reads the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import orjson

from backend.core.analysis.columns import HAS_PROMPT, HAS_SYSTEM, JSON_OUTPUT, MULTI_TURN, NON_ALTERNATING, TOOL_USE
from backend.core.analysis.pii import SECRET_KINDS
from backend.core.conversation import CANONICAL_ROLES, Conversation, Message

CANONICAL_ROLE_SET = frozenset(CANONICAL_ROLES)
SHORT_REPLY_CHARS = 10  # an assistant reply shorter than this (stripped) is "very short"

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class IssueKind:
    severity: Severity
    title: str  # short, with {n} for the count: also the seed's quality_issues string
    advice: str


ISSUE_KINDS: dict[str, IssueKind] = {
    "unusable_record": IssueKind(
        "error",
        "{n} records could not be used",
        "Fix or remove these records; each is listed with its line and the reason.",
    ),
    "missing_assistant": IssueKind(
        "error",
        "{n} examples have no assistant reply",
        "An example without an assistant message teaches the model nothing: add the reply or drop it.",
    ),
    "openai_format_error": IssueKind(
        "error",
        "{n} records fail OpenAI's format checks",
        "OpenAI's fine-tuning API would reject the file: fix the listed records (the detail counts each "
        "kind of error, as OpenAI's cookbook validator reports it).",
    ),
    "missing_user": IssueKind(
        "warning",
        "{n} examples have no user message",
        "Most chat templates expect a user turn before the reply; add one or check the conversion.",
    ),
    "assistant_first": IssueKind(
        "warning",
        "{n} examples start with the assistant",
        "After any system prompt, a conversation should open with the user; many templates reject this.",
    ),
    "consecutive_same_role": IssueKind(
        "warning",
        "{n} examples have two consecutive turns of the same role",
        "Templates such as Gemma's and Mistral's require strict user/assistant alternation: merge the turns.",
    ),
    "not_ending_with_assistant": IssueKind(
        "warning",
        "{n} examples do not end with an assistant reply",
        "Trailing turns after the last reply are not trained on; end each example with the assistant.",
    ),
    "empty_content": IssueKind(
        "warning",
        "{n} examples have an empty or whitespace-only message",
        "Empty turns waste tokens and can teach the model to answer with nothing: fill or remove them.",
    ),
    "short_reply": IssueKind(
        "info",
        "{n} examples have very short assistant replies",
        f"Replies under {SHORT_REPLY_CHARS} characters teach terse answers; fine for classification, "
        "otherwise check them.",
    ),
    "unknown_role": IssueKind(
        "error",
        "{n} examples use a role that is not system, user, assistant or tool",
        "Rename the role (e.g. human → user, gpt → assistant) or the trainer will reject the example.",
    ),
    "extra_keys": IssueKind(
        "info",
        "{n} records carry extra top-level keys",
        "Extra keys are ignored for training; remove them if they were meant to be part of the example.",
    ),
    "tool_call_without_result": IssueKind(
        "warning",
        "{n} examples have tool calls without a tool result",
        "Each tool call should be followed by a tool message answering it (matching tool_call_id).",
    ),
    "pii_email": IssueKind(
        "warning",
        "{n} examples contain e-mail addresses",
        "Personal data in training data can be memorised and repeated: mask or remove it.",
    ),
    "pii_phone": IssueKind(
        "warning",
        "{n} examples contain phone numbers",
        "Personal data in training data can be memorised and repeated: mask or remove it.",
    ),
    "secret": IssueKind(
        "error",
        "{n} examples contain what looks like an API key or secret",
        "Revoke the key and remove it from the data: a fine-tuned model can leak it verbatim.",
    ),
    "over_max_seq_length": IssueKind(
        "warning",
        "{n} examples are longer than max_seq_length",
        "They will be truncated in training: raise max_seq_length or shorten or split these examples.",
    ),
    "all_assistant_tokens_cut": IssueKind(
        "error",
        "{n} examples lose every assistant token to truncation",
        "After truncation these examples contain no reply at all: shorten their prompts or raise "
        "max_seq_length.",
    ),
    "exact_duplicate": IssueKind(
        "warning",
        "{n} examples repeat an earlier conversation exactly",
        "Duplicates overweight some examples and leak between train and eval splits: deduplicate.",
    ),
    "near_duplicate": IssueKind(
        "info",
        "{n} examples are near-duplicates of an earlier one",
        "Near-duplicates add little; consider keeping one of each group.",
    ),
    "prompt_duplicate": IssueKind(
        "info",
        "{n} examples repeat another example's prompt with a different answer",
        "The same prompt (system and user turns) with different answers sends mixed signals unless "
        "the variety is intended.",
    ),
    "mixed_formats": IssueKind(
        "warning",
        "the file mixes {n} record formats",
        "Use one format for the whole file; the examples listed are the first of each minority format.",
    ),
    "system_prompt_in_some": IssueKind(
        "info",
        "{n} examples differ from the rest in having a system prompt or not",
        "A system prompt present in only some examples makes the model depend on it inconsistently.",
    ),
    "many_system_prompts": IssueKind(
        "info",
        "{n} distinct system prompts",
        "Many different system prompts are fine if intended (per-example instructions); "
        "otherwise unify them.",
    ),
    "nothing_trained": IssueKind(
        "warning",
        "{n} examples train on nothing: every assistant turn has weight 0",
        "A weight of 0 marks a turn as context, not as something to learn; give the replies to learn "
        "weight 1 (or drop the weights) or leave these examples out.",
    ),
    "read_partly": IssueKind(
        "error",
        "the file was read only partly",
        "Reading stopped before the end of the file, so every figure here describes only the records "
        "before that point (records_total is a lower bound): fix the cause named in the detail and "
        "upload the file again.",
    ),
    "messages_under_conversations": IssueKind(
        "warning",
        "{n} records hold OpenAI messages under 'conversations'",
        "OpenAI's fine-tuning API reads the messages only under the key 'messages': rename the key "
        "'conversations' to 'messages' in every record (the messages themselves are fine; their "
        "checks below are made as if the key were right).",
    ),
    "preference_data": IssueKind(
        "info",
        "{n} examples are preference data",
        "Train these with a preference method (DPO for chosen/rejected pairs, KTO for labelled "
        "answers): supervised fine-tuning would learn from one side only, so no SFT notebook is made "
        "for them.",
    ),
    "too_few_examples": IssueKind(
        "warning",
        "only {n} examples",
        "OpenAI requires at least 10 examples and suggests 50–100 to start; small models need more still.",
    ),
    # web page (issue 14): the ingest's missing comma gets its own advice, not the generic one
    "missing_comma": IssueKind(
        "warning",
        "{n} records follow a missing comma in the JSON array",
        "Nothing was lost: each record was read as if the comma were there. Other tools (json.load, "
        "datasets.load_dataset) refuse the file as it is: add a comma after the record before each listed "
        "one.",
    ),
}


def describe_issue_code(code: str, message: str | None = None) -> IssueKind:
    """The kind of a check code, or a generic one for an ingest issue code this table does not know."""
    kind = ISSUE_KINDS.get(code)
    if kind is not None:
        return kind
    return IssueKind(
        "warning",
        "{n} records: " + (message or code.replace("_", " ")),
        "See the listed records; the ingest step flagged them while reading the file.",
    )


def check_conversation(conv: Conversation, roles: list[str], pii_kinds: set[str]) -> list[str]:
    """The per-example issue codes of one conversation (each at most once).

    `roles` are its messages' roles and `pii_kinds` what pii.find_pii found in its text: the
    caller has them already, and this runs once per example of files of millions.
    """
    codes: list[str] = []
    if "assistant" not in roles:
        codes.append("missing_assistant")
    if "user" not in roles:
        codes.append("missing_user")
    first_turn = next((r for r in roles if r != "system"), None)
    if first_turn == "assistant":
        codes.append("assistant_first")
    if has_consecutive_same_role(roles):
        codes.append("consecutive_same_role")
    if roles and roles[-1] != "assistant":
        codes.append("not_ending_with_assistant")
    empty = short = has_calls = False
    for m in conv.messages:
        stripped = len(m.content.strip())
        if m.tool_calls:
            has_calls = True
        elif stripped == 0:
            empty = True
        elif m.role == "assistant" and stripped < SHORT_REPLY_CHARS:
            short = True
    if empty:
        codes.append("empty_content")
    if short:
        codes.append("short_reply")
    if not CANONICAL_ROLE_SET.issuperset(roles):
        codes.append("unknown_role")
    if conv.extra_keys:
        codes.append("extra_keys")
    if has_calls and has_unanswered_tool_call(conv.messages):
        codes.append("tool_call_without_result")
    codes.extend(pii_codes(pii_kinds))
    return codes


def pii_codes(pii_kinds: set[str]) -> list[str]:
    """The issue codes of what pii.find_pii found in one example."""
    codes = []
    if "email" in pii_kinds:
        codes.append("pii_email")
    if "phone" in pii_kinds:
        codes.append("pii_phone")
    if not pii_kinds.isdisjoint(SECRET_KINDS):
        codes.append("secret")
    return codes


def conversation_flags(conv: Conversation, roles: list[str], has_prompt: bool) -> int:
    """The example's bit flags (columns.HAS_SYSTEM...) that its conversation alone decides."""
    flags = 0
    if "system" in roles:
        flags |= HAS_SYSTEM
    if roles.count("user") > 1:
        flags |= MULTI_TURN
    if has_consecutive_same_role(roles):
        flags |= NON_ALTERNATING
    if has_tool_use(conv):
        flags |= TOOL_USE
    if has_json_output(conv):
        flags |= JSON_OUTPUT
    if has_prompt:
        flags |= HAS_PROMPT
    return flags


def has_consecutive_same_role(roles: list[str]) -> bool:
    """Two adjacent turns of one role; consecutive tool results (parallel calls) are normal."""
    previous = None
    for role in roles:
        if role == previous and role != "tool":
            return True
        previous = role
    return False


def has_unanswered_tool_call(messages: tuple[Message, ...]) -> bool:
    """A tool call whose id no later tool message answers (or, without ids, no tool message follows)."""
    for position, message in enumerate(messages):
        if not message.tool_calls:
            continue
        later = messages[position + 1 :]
        answered = {m.tool_call_id for m in later if m.role == "tool"}
        for call in message.tool_calls:
            call_id = call.get("id")
            if call_id is not None and call_id in answered:
                continue
            if call_id is None and any(m.role == "tool" for m in later):
                continue
            return True
    return False


def has_tool_use(conv: Conversation) -> bool:
    return conv.tools is not None or any(m.tool_calls or m.role == "tool" for m in conv.messages)


def has_json_output(conv: Conversation) -> bool:
    """Every assistant reply (tool calls aside) is a JSON object or array."""
    replies = [m.content.strip() for m in conv.messages if m.role == "assistant" and not m.tool_calls]
    return bool(replies) and all(_is_json_container(r) for r in replies)


def _is_json_container(text: str) -> bool:
    if not text or text[0] not in "{[":
        return False
    try:
        return isinstance(orjson.loads(text), dict | list)
    except orjson.JSONDecodeError:
        return False
