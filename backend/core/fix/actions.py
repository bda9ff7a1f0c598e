"""The fix-it actions, and the values that describe a plan (before applying) and a result (after)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from backend.core.errors import InvalidInputError

MAX_LISTED = 20  # record numbers listed per action in a plan; the counts are never capped


class FixAction(StrEnum):
    DROP_UNUSABLE = "drop_unusable"  # records the analysis could not read or convert
    DROP_MISSING_ASSISTANT = "drop_missing_assistant"  # no assistant message with text or tool calls
    DROP_OVER_LENGTH = "drop_over_length"  # more tokens than max_seq_length
    DROP_EXACT_DUPLICATES = "drop_exact_duplicates"  # keep the first of each exact group
    DROP_NEAR_DUPLICATES = "drop_near_duplicates"  # keep the first of each near-duplicate group
    MASK_PII = "mask_pii"  # e-mails, phone numbers and keys replaced by placeholders
    FLAG_OVER_LENGTH = "flag_over_length"  # kept, but listed in the fix record


# The order actions apply in: drops that judge one example alone come first, so a duplicate group
# keeps its first example that survived them; masking and flagging then see only what is kept.
ACTION_ORDER: tuple[FixAction, ...] = (
    FixAction.DROP_UNUSABLE,
    FixAction.DROP_MISSING_ASSISTANT,
    FixAction.DROP_OVER_LENGTH,
    FixAction.DROP_EXACT_DUPLICATES,
    FixAction.DROP_NEAR_DUPLICATES,
    FixAction.MASK_PII,
    FixAction.FLAG_OVER_LENGTH,
)
DROPS = frozenset(ACTION_ORDER[:5])
NEEDS_GROUPS = frozenset({FixAction.DROP_EXACT_DUPLICATES, FixAction.DROP_NEAR_DUPLICATES})
NEEDS_TEXT = frozenset({FixAction.DROP_MISSING_ASSISTANT, FixAction.MASK_PII})

DESCRIPTIONS: dict[FixAction, str] = {
    FixAction.DROP_UNUSABLE: "records that could not be read or converted are left out",
    FixAction.DROP_MISSING_ASSISTANT: "examples without an assistant reply (text or tool calls) are left out",
    FixAction.DROP_OVER_LENGTH: "examples longer than {max_seq_length} tokens are left out",
    FixAction.DROP_EXACT_DUPLICATES: "exact repeats are left out; the first of each group is kept",
    FixAction.DROP_NEAR_DUPLICATES: "near-duplicates (and exact repeats) are left out; one of each group is kept",
    FixAction.MASK_PII: "e-mail addresses, phone numbers and keys are replaced by placeholders such as [EMAIL]",
    FixAction.FLAG_OVER_LENGTH: "examples longer than {max_seq_length} tokens are kept and listed",
}


def order_actions(actions: list[FixAction] | tuple[FixAction, ...] | set[FixAction]) -> list[FixAction]:
    """The chosen actions in the order they apply; refuses an empty or contradictory choice."""
    chosen = set(actions)
    if not chosen:
        raise InvalidInputError("Choose at least one fix action.", field="actions",
                                choices=[a.value for a in ACTION_ORDER])
    if {FixAction.DROP_OVER_LENGTH, FixAction.FLAG_OVER_LENGTH} <= chosen:
        raise InvalidInputError("Examples over max_seq_length can be dropped or flagged, not both.",
                                field="actions")
    return [a for a in ACTION_ORDER if a in chosen]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActionOutcome(_Frozen):
    action: FixAction
    description: str
    before: int  # examples before this action
    after: int  # examples after it
    removed: int  # examples it leaves out
    changed: int  # examples it changes (masking) or flags
    examples: list[int] = Field(default_factory=list)  # record numbers it removes or changes, the first few
    replacements: dict[str, int] = Field(default_factory=dict)  # masking: placeholders written, per kind


class FixPlan(_Frozen):
    """What the chosen actions would do, counted before anything is written."""

    actions: list[FixAction]
    max_seq_length: int
    records_before: int  # records in the file, usable or not
    examples_before: int  # usable examples
    examples_after: int
    outcomes: list[ActionOutcome]


class FixResult(_Frozen):
    """What applying did: the plan's counts, the complete record lists, and the file written."""

    plan: FixPlan
    removed_records: dict[str, list[int]]  # action -> every record number it left out
    changed_records: dict[str, list[int]]  # action -> every record number it masked or flagged
    source_records: list[int]  # line n of the new file is record source_records[n] of the original
    examples_written: int
    bytes_written: int
    sha256: str
