"""Fix-it actions over an analysed dataset: counted first, then applied into a new canonical file.

    plan = plan_fixes(store_dir, report, {FixAction.DROP_EXACT_DUPLICATES, FixAction.MASK_PII})
    plan.outcomes          # per action: examples before, after, removed or changed, the first record numbers
    result = apply_fixes(store_dir, report, plan.actions, out_path)
    result.removed_records # per action: every record number it left out (of the original file)

The new file is canonical JSONL (`{"messages": [...], "tools"?}` per line), to be analysed like any
upload; the original dataset is not touched. Duplicates come from backend.core.related.
"""

from backend.core.fix.actions import ACTION_ORDER, ActionOutcome, FixAction, FixPlan, FixResult, order_actions
from backend.core.fix.apply import apply_fixes
from backend.core.fix.decide import check_choice, has_reply, plan_fixes

__all__ = [
    "ACTION_ORDER",
    "ActionOutcome",
    "FixAction",
    "FixPlan",
    "FixResult",
    "apply_fixes",
    "check_choice",
    "has_reply",
    "order_actions",
    "plan_fixes",
]
