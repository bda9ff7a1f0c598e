"""apply_fixes: write the fixed dataset as canonical JSONL, and the record of what each action did."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from backend.core.analysis.pii import mask_pii
from backend.core.analysis.report import Report
from backend.core.analysis.store import StoredExample
from backend.core.fix.actions import DROPS, FixAction, FixResult
from backend.core.fix.decide import KEPT, decide, iter_stored, plan_of


def apply_fixes(
    store_dir: Path,
    report: Report,
    actions: list[FixAction] | set[FixAction],
    out_path: Path,
    *,
    max_seq_length: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FixResult:
    """Decide (as plan_fixes does), then stream the kept examples, masked where chosen, to `out_path`.
    `on_progress(position, total)` is called every few thousand examples of each of the two passes.

    The file appears whole or not at all (written beside it, then renamed). Every removed or changed
    example is listed by its record number in the original file, per action.
    """
    decision = decide(store_dir, report, actions, max_seq_length=max_seq_length, on_progress=on_progress)
    kept, masked = decision.kept(), decision.masked
    total = int(kept.size)
    replacements: Counter[str] = Counter()
    digest = hashlib.sha256()
    written = size = 0
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.part")
    try:
        with tmp.open("wb", buffering=1 << 20) as f:
            for position, example in enumerate(iter_stored(store_dir)):
                if not kept[position]:
                    continue
                canonical = _masked(example, replacements) if masked[position] else _canonical(example)
                line = orjson.dumps(canonical) + b"\n"
                f.write(line)
                digest.update(line)
                written += 1
                size += len(line)
                if on_progress is not None and position % 2000 == 0:
                    on_progress(position, total)
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    plan = plan_of(decision, report)
    outcomes = [
        o.model_copy(update={"replacements": dict(sorted(replacements.items()))}) if o.action is FixAction.MASK_PII
        else o for o in plan.outcomes
    ]
    removed: dict[str, list[int]] = {}
    changed: dict[str, list[int]] = {}
    for position, action in enumerate(decision.actions):
        if action is FixAction.DROP_UNUSABLE:
            removed[action.value] = decision.unusable_records
        elif action in DROPS:
            removed[action.value] = decision.record_numbers[decision.removed_by == position].tolist()
        else:
            hit = masked if action is FixAction.MASK_PII else decision.flagged
            changed[action.value] = decision.record_numbers[hit].tolist()
    assert written == int((decision.removed_by == KEPT).sum())
    return FixResult(plan=plan.model_copy(update={"outcomes": outcomes}), removed_records=removed,
                     changed_records=changed, source_records=decision.record_numbers[kept].tolist(),
                     examples_written=written, bytes_written=size, sha256=digest.hexdigest())


def _canonical(example: StoredExample) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": example.messages}
    if example.tools is not None:
        out["tools"] = example.tools
    return out


def _masked(example: StoredExample, replacements: Counter[str]) -> dict[str, Any]:
    messages = []
    for message in example.messages:
        text, counts = mask_pii(message["content"])
        replacements.update(counts)
        messages.append({**message, "content": text})
    out = _canonical(example)
    out["messages"] = messages
    return out
