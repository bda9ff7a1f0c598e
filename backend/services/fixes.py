"""Fix-it actions on an analysed dataset: the before/after plan, and the new version's file.

Applying never touches the original: it writes the fixed examples (canonical JSONL) as the upload file of a
NEW dataset id, with `fixes.json` beside it (every record number each action removed or changed). It is a
task (kind "fix", backend.services.fix_task): its on_done records the version (a Dataset row with the lineage
of `FixedVersion.lineage`) and analyses it like any upload.

    DATA_DIR/uploads/<new id>/upload.jsonl   the fixed examples, one per line
    DATA_DIR/uploads/<new id>/fixes.json     FixResult: the plan's counts and the complete record lists
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.auth import User
from backend.core.analysis import Report
from backend.core.fix import FixAction, FixPlan, FixResult, apply_fixes, check_choice, plan_fixes
from backend.db.models import Task
from backend.services import storage
from backend.services.datasets import finished_report, get_dataset_for, store_dir
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.versions import new_version_id
from backend.settings import Settings

FIXED_NAME = "upload.jsonl"
FIX_RECORD = "fixes.json"


@dataclass(frozen=True)
class FixedVersion:
    dataset_id: str  # the new version's id (its session id once recorded)
    stored_name: str
    filename: str  # for display: the original's name with ".fixed"
    size_bytes: int
    sha256: str
    lineage: dict[str, Any]  # {"origin": "fix", "parent_dataset_id", "fixes": [...], "fix_record": "fixes.json"}
    result: FixResult


async def plan_dataset_fixes(state: AppState, session_id: str, user: User | None, actions: list[FixAction],
                             max_seq_length: int | None = None) -> FixPlan:
    """Before and after counts per action (nothing is written)."""
    dataset = await get_dataset_for(state, session_id, user)
    report = await finished_report(state, dataset)
    store = store_dir(state, dataset)
    return await asyncio.to_thread(plan_fixes, store, report, actions, max_seq_length=max_seq_length)


async def start_fix(state: AppState, session_id: str, user: User | None, client: str, actions: list[FixAction],
                    max_seq_length: int | None = None) -> Task:
    """Queue the fix task (backend.services.fix_task) for a new version; the task's id is the version's id.

    What the report alone can refuse (no action, drop and flag together, unusable records kept) is refused here,
    before anything is queued. The caller may read the original, so it may make a version of it.
    """
    dataset = await get_dataset_for(state, session_id, user)
    report = await finished_report(state, dataset)
    check_choice(report, actions, max_seq_length)
    new_id = new_version_id()
    source_store = store_dir(state, dataset).relative_to(state.settings.data_dir)
    payload = {"source_id": dataset.id, "source_store": source_store.as_posix(), "source_filename": dataset.filename,
               "report": dataset.report, "actions": [a.value for a in actions], "max_seq_length": max_seq_length,
               "dataset_id": new_id, "analysis_options": dict(dataset.options or {})}
    task = await engine.admit(state, "fix", user, client, payload, task_id=new_id,
                              status="Queued: making a fixed version")
    await engine.hand_over(state, task)
    return task


def write_fixed_version(settings: Settings, source_id: str, source_store: Path, source_filename: str, report: Report,
                        actions: list[FixAction], new_id: str, max_seq_length: int | None = None,
                        on_progress: Callable[[int, int], None] | None = None) -> FixedVersion:
    """Blocking: apply the actions to the source's store into the new id's upload file (the fix task's body)."""
    out = storage.upload_path(settings, new_id, FIXED_NAME)
    try:
        result = apply_fixes(source_store, report, actions, out, max_seq_length=max_seq_length,
                             on_progress=on_progress)
        (out.parent / FIX_RECORD).write_text(result.model_dump_json(), encoding="utf-8")
    except BaseException:
        storage.delete_dataset_files(settings, new_id)  # no half-made version
        raise
    fixes = [{"action": o.action.value, "description": o.description, "removed": o.removed, "changed": o.changed}
             for o in result.plan.outcomes]
    stem = source_filename.rsplit(".", 1)[0] if "." in source_filename else source_filename
    return FixedVersion(
        dataset_id=new_id, stored_name=FIXED_NAME, filename=storage.display_filename(f"{stem}.fixed.jsonl"),
        size_bytes=result.bytes_written, sha256=result.sha256,
        lineage={"origin": "fix", "parent_dataset_id": source_id, "fixes": fixes, "fix_record": FIX_RECORD},
        result=result)
