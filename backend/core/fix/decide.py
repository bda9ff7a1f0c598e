"""Deciding, for every stored example, which chosen action (if any) removes, masks or flags it.

One pass over the store gathers what each action judges (record number, tokens, whether there is
a reply, what PII the text holds); duplicate actions add the related groups (backend.core.related).
The decision is the same for the plan and for applying it, so the counts a person sees before
applying are the counts applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.analysis.pii import PII_KINDS, find_pii
from backend.core.analysis.report import Report
from backend.core.analysis.store import StoredExample, count_examples, read_examples
from backend.core.errors import InvalidInputError
from backend.core.fix.actions import (
    DESCRIPTIONS,
    DROPS,
    MAX_LISTED,
    NEEDS_GROUPS,
    ActionOutcome,
    FixAction,
    FixPlan,
    order_actions,
)
from backend.core.related import find_related, link_groups

BATCH = 2000
KEPT = -1
_PII_BITS = {kind: 1 << n for n, kind in enumerate(PII_KINDS)}


@dataclass(frozen=True)
class Decision:
    """Per store position: the action that removes it (an index into `actions`, or KEPT), and flags."""

    actions: list[FixAction]
    max_seq_length: int
    record_numbers: npt.NDArray[np.int64]
    removed_by: npt.NDArray[np.int8]
    masked: npt.NDArray[np.bool_]  # kept and holding PII, when masking is chosen
    flagged: npt.NDArray[np.bool_]  # kept and over max_seq_length, when flagging is chosen
    unusable_records: list[int]  # record numbers the analysis could not use (never in the store)

    def kept(self) -> npt.NDArray[np.bool_]:
        kept: npt.NDArray[np.bool_] = self.removed_by == KEPT
        return kept


def iter_stored(store_dir: Path) -> Iterator[StoredExample]:
    total = count_examples(store_dir)
    for start in range(0, total, BATCH):
        yield from read_examples(store_dir, start, BATCH)


def has_reply(messages: list[dict[str, Any]]) -> bool:
    """An assistant message with text or tool calls: something to learn from."""
    return any(m["role"] == "assistant" and (m["content"].strip() or m.get("tool_calls")) for m in messages)


def check_choice(report: Report, actions: list[FixAction] | set[FixAction],
                 max_seq_length: int | None = None) -> tuple[list[FixAction], int]:
    """The chosen actions in order and the length limit, or the error that refuses the choice: what can be
    known from the report alone, before the store is read (a route checks it before queueing the work)."""
    chosen = order_actions(list(actions))
    limit = max_seq_length or report.truncation.max_seq_length
    if limit < 1:
        raise InvalidInputError("max_seq_length must be a positive number of tokens.", field="max_seq_length")
    if report.records_unusable and FixAction.DROP_UNUSABLE not in chosen:
        raise InvalidInputError(
            f"{report.records_unusable:,} records could not be read or converted, so the new version (written "
            "in canonical form) cannot hold them: choose drop_unusable too, or fix them in the source file.",
            code="unusable_records_need_dropping", field="actions", count=report.records_unusable)
    return chosen, limit


def decide(
    store_dir: Path,
    report: Report,
    actions: list[FixAction] | set[FixAction],
    *,
    max_seq_length: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Decision:
    chosen, limit = check_choice(report, actions, max_seq_length)
    total = count_examples(store_dir)
    if total != report.total_examples:
        raise InvalidInputError("The analysis store does not match this report; analyse the dataset again.",
                                code="store_mismatch")
    record_numbers = np.zeros(total, dtype=np.int64)
    tokens = np.zeros(total, dtype=np.int64)
    replies = np.ones(total, dtype=bool)
    pii = np.zeros(total, dtype=np.int64)
    for position, example in enumerate(iter_stored(store_dir)):
        record_numbers[position] = example.index
        tokens[position] = example.token_count
        replies[position] = has_reply(example.messages)
        if FixAction.MASK_PII in chosen:
            found = find_pii("\n".join(m["content"] for m in example.messages))
            pii[position] = sum(_PII_BITS[kind] for kind in found)
        if on_progress is not None and position % BATCH == 0:
            on_progress(position, total)
    removed_by = np.full(total, KEPT, dtype=np.int8)
    over = tokens > limit

    def drop(action: FixAction, mask: npt.NDArray[np.bool_]) -> None:
        removed_by[mask & (removed_by == KEPT)] = chosen.index(action)

    if FixAction.DROP_MISSING_ASSISTANT in chosen:
        drop(FixAction.DROP_MISSING_ASSISTANT, ~replies)
    if FixAction.DROP_OVER_LENGTH in chosen:
        drop(FixAction.DROP_OVER_LENGTH, over)
    if NEEDS_GROUPS & set(chosen):
        related = find_related(store_dir)
        if FixAction.DROP_EXACT_DUPLICATES in chosen:
            drop(FixAction.DROP_EXACT_DUPLICATES, _all_but_first_kept(related.exact, removed_by, total))
        if FixAction.DROP_NEAR_DUPLICATES in chosen:
            # Exact repeats are the nearest of duplicates: linking both keeps exactly one of each whole set.
            near_sets = _sets(link_groups(total, [*related.exact, *related.near]))
            drop(FixAction.DROP_NEAR_DUPLICATES, _all_but_first_kept(near_sets, removed_by, total))
    kept = removed_by == KEPT
    masked = kept & (pii != 0) if FixAction.MASK_PII in chosen else np.zeros(total, dtype=bool)
    flagged = kept & over if FixAction.FLAG_OVER_LENGTH in chosen else np.zeros(total, dtype=bool)
    unusable: list[int] = []
    if report.records_unusable:
        stored = set(record_numbers.tolist())
        unusable = [n for n in range(report.records_total) if n not in stored]
    return Decision(chosen, limit, record_numbers, removed_by, masked, flagged, unusable)


def _sets(components: npt.NDArray[np.int64]) -> list[list[int]]:
    """Groups of positions sharing a component id, two or more, in position order."""
    order = np.argsort(components, kind="stable")
    ordered = components[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return [group.tolist() for group in np.split(order, starts[1:]) if group.size >= 2]


def _all_but_first_kept(groups: list[list[int]], removed_by: npt.NDArray[np.int8], total: int) -> npt.NDArray[np.bool_]:
    """Members of each group after its first member still kept."""
    mask = np.zeros(total, dtype=bool)
    for group in groups:
        survivors = [p for p in group if removed_by[p] == KEPT]
        mask[survivors[1:]] = True
    return mask


def plan_of(decision: Decision, report: Report) -> FixPlan:
    """The plan's counts, per action in the order applied."""
    outcomes: list[ActionOutcome] = []
    examples = report.total_examples
    for position, action in enumerate(decision.actions):
        description = DESCRIPTIONS[action].format(max_seq_length=decision.max_seq_length)
        if action is FixAction.DROP_UNUSABLE:
            listed = decision.unusable_records
            outcomes.append(ActionOutcome(action=action, description=description, before=report.records_total,
                                          after=examples, removed=len(listed), changed=0,
                                          examples=listed[:MAX_LISTED]))
            continue
        if action in DROPS:
            hit = decision.removed_by == position
            removed, changed = int(hit.sum()), 0
        else:
            hit = decision.masked if action is FixAction.MASK_PII else decision.flagged
            removed, changed = 0, int(hit.sum())
        outcomes.append(ActionOutcome(
            action=action, description=description, before=examples, after=examples - removed, removed=removed,
            changed=changed, examples=decision.record_numbers[hit][:MAX_LISTED].tolist()))
        examples -= removed
    return FixPlan(actions=decision.actions, max_seq_length=decision.max_seq_length,
                   records_before=report.records_total, examples_before=report.total_examples,
                   examples_after=examples, outcomes=outcomes)


def plan_fixes(
    store_dir: Path, report: Report, actions: list[FixAction] | set[FixAction], *, max_seq_length: int | None = None
) -> FixPlan:
    """Before and after counts for the chosen actions, without writing anything."""
    return plan_of(decide(store_dir, report, actions, max_seq_length=max_seq_length), report)
