"""run_hub_append: add a dataset version's examples to one split of an existing Hub dataset (seed 000's PUT /data).

The repo is read at its current commit (`datasets` over a snapshot of it), new examples that repeat one of
its rows (in any split: a copy in another split would leak into evaluation) or each other are left out,
and one commit adds a Parquet file for the split and the card with its counts updated. The commit names
the commit that was read as its parent, so a repo that changed meanwhile refuses it instead of mixing.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from datasets import DatasetDict, load_dataset, load_dataset_builder
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import CommitOperationAdd, DatasetCard

from backend.core.dedup import conversation_fingerprint
from backend.core.errors import ConflictError
from backend.core.export import iter_store
from backend.core.related import example_conversation
from backend.services.hub.card import update_card
from backend.services.hub.client import check_repo_id, hub_errors, open_api, repo_page
from backend.services.hub.parquet import SplitFiles, canonical_example, to_row
from backend.services.hub.payloads import AppendPayload, AppendRequest, require_token, validate
from backend.services.hub.push import full_repo_id, store_path
from backend.services.hub.reading import load_snapshot
from backend.services.tasks.context import TaskContext
from backend.settings import Settings


def run_hub_append(ctx: TaskContext, payload: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Task body. Payload: AppendPayload; secret `hf_token`. Result: see append_store."""
    request = validate(AppendPayload, payload)
    store = store_path(ctx, request.store)  # a payload without its store is refused before the token is read
    settings = settings or Settings()
    token = require_token(ctx, "add rows to a Hub dataset")
    return append_store(ctx, request, store, token=token, endpoint=settings.hf_endpoint)


def append_store(ctx: TaskContext, request: AppendRequest, store_dir: Path, *, token: str,
                 endpoint: str) -> dict[str, Any]:
    """Returns repo, url, split, added, left_out_duplicates, splits (rows per split after) and the commit."""
    api = open_api(endpoint, token)
    repo_id = check_repo_id(request.repo)
    work = ctx.work_dir / "append"
    try:
        with hub_errors(repo_id, token_given=True, action="add rows to"):
            repo_id = full_repo_id(api, repo_id)
            ctx.status(f"Reading {repo_id}")
            snapshot = load_snapshot(api, repo_id, None, work)
        existing = _read_existing(snapshot.path, work / "cache", repo_id)
        ctx.checkpoint()
        ctx.status("Leaving out rows the repo already has")
        counts = {name: split.num_rows for name, split in existing.items()}
        seen = {_fingerprint(row) for split in existing.values() for row in split}
        schema = existing[next(iter(existing))].features.arrow_schema.remove_metadata()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path_in_repo = f"data/{request.split}-{stamp}-{snapshot.sha[:8]}.parquet"
        files = SplitFiles(work / "new", schema)
        left_out = 0
        try:
            for _, example in iter_store(store_dir):
                fingerprint = conversation_fingerprint(example_conversation(example))
                if fingerprint in seen:
                    left_out += 1
                    continue
                seen.add(fingerprint)
                files.add(request.split, path_in_repo, _project(to_row(example), schema, repo_id))
        finally:
            added = files.close().get(request.split, 0)
        counts[request.split] = counts.get(request.split, 0) + added
        result: dict[str, Any] = {"repo_id": repo_id, "url": repo_page(endpoint, repo_id), "split": request.split,
                                  "added": added, "left_out_duplicates": left_out, "splits": counts, "commit": None}
        if added == 0:
            ctx.status("Nothing new to add: every example is already in the repo")
            return result
        line = f"{added:,} examples added to {request.split}"
        line += f" ({left_out:,} left out as duplicates of rows already there or of each other)" if left_out else ""
        line += f"; {request.note}" if request.note else ""
        card = update_card(snapshot.readme, counts, line, existing[next(iter(existing))].features,
                           data_files=_data_files(snapshot.path, snapshot.readme, request.split, path_in_repo))
        ctx.checkpoint()
        ctx.status(f"Committing to {repo_id}")
        with hub_errors(repo_id, token_given=True, action="add rows to"):
            commit = api.create_commit(
                repo_id, [CommitOperationAdd(path_in_repo, str(files.paths[request.split])),
                          CommitOperationAdd("README.md", card.encode())],
                commit_message=request.commit_message or f"Add {added:,} examples to {request.split} with SLMGen",
                repo_type="dataset", parent_commit=snapshot.sha)
        ctx.artifact("hub_repo", {"repo_id": repo_id, "commit": commit.oid, "url": result["url"]})
        return {**result, "commit": commit.oid, "commit_url": commit.commit_url, "file": path_in_repo}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _read_existing(snapshot: Path, cache: Path, repo_id: str) -> DatasetDict:
    try:
        existing = load_dataset(str(snapshot), cache_dir=str(cache))
    except (FileNotFoundError, ValueError) as exc:  # no data files yet, or a layout datasets cannot read
        raise ConflictError(f"{repo_id} holds no dataset that can be read ({exc}); push to it first, then add rows.",
                            code="hub_repo_not_appendable", repo=repo_id) from None
    if not isinstance(existing, DatasetDict) or not existing:
        raise ConflictError(f"{repo_id} holds no dataset splits; push to it first.", code="hub_repo_not_appendable")
    for name, split in existing.items():
        if "messages" not in split.column_names:
            raise ConflictError(
                f"{repo_id}'s {name} split has no `messages` column (it has {', '.join(split.column_names)}), so chat "
                "examples cannot be added to it.", code="hub_repo_not_appendable", repo=repo_id)
    return existing


def _fingerprint(row: dict[str, Any]) -> int:
    example = canonical_example(row)
    return conversation_fingerprint(example_conversation(example)) if example is not None else 0


def _project(value: Any, target: pa.DataType | pa.Schema, repo_id: str) -> Any:
    """`value` restricted to the fields `target` has; a non-null value with no place there is a conflict."""
    if value is None:
        return None
    fields = list(target) if isinstance(target, pa.Schema) else None
    if fields is None and pa.types.is_struct(target):
        fields = [target.field(i) for i in range(target.num_fields)]
    if fields is not None and isinstance(value, dict):
        names = {f.name for f in fields}
        lost = [k for k, v in value.items() if v is not None and k not in names]
        if lost:
            raise ConflictError(
                f"{repo_id} has no place for {', '.join(sorted(lost))} (its rows lack these fields), so these examples "
                "cannot be added without losing data. Push them to a new repo instead.",
                code="hub_schema_mismatch", repo=repo_id)
        return {f.name: _project(value.get(f.name), f.type, repo_id) for f in fields}
    if isinstance(value, list) and (pa.types.is_list(target) or pa.types.is_large_list(target)):
        return [_project(v, target.value_type, repo_id) for v in value]
    return value


def _data_files(snapshot: Path, readme: str, split: str, new_path: str) -> dict[str, list[str] | str] | None:
    """The card's data files once `new_path` is added to `split`; None when its patterns already match it."""
    configs = MetadataConfigs.from_dataset_card_data(DatasetCard(readme).data) if readme else MetadataConfigs()
    default = configs.get("default") or (next(iter(configs.values())) if configs else {})
    for entry in default.get("data_files") or []:
        patterns = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
        if entry.get("split") == split and any(fnmatch.fnmatch(new_path, p) for p in patterns):
            return None
    builder = load_dataset_builder(str(snapshot))
    resolved = builder.config.data_files or {}
    files: dict[str, list[str] | str] = {
        str(name): sorted(os.path.relpath(str(p), snapshot) for p in paths) for name, paths in resolved.items()}
    files[split] = [*files.get(split, []), new_path]
    return files

