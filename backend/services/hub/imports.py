"""run_hub_import: one split of a Hub dataset (by id, config, split and revision) as a local upload file.

The rows are written as JSON Lines, as they are (null fields left out), into the new dataset version's
upload file; the product then analyses that file exactly like an upload, with the same limits: the file
may not grow past MAX_UPLOAD_BYTES, and the analysis reads at most MAX_RECORDS records (saying so).
As a task (kind "hub_import", `run_import_version`), its on_done records the new dataset (backend.services.versions).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import orjson
from datasets import Dataset, load_dataset
from datasets.exceptions import DatasetsError
from sqlalchemy.orm import Session

from backend.core.errors import InvalidInputError, PayloadTooLargeError
from backend.db.models import Task
from backend.services import storage
from backend.services.hub.client import check_repo_id, hub_errors, open_api, repo_page
from backend.services.hub.parquet import drop_nulls
from backend.services.hub.payloads import HF_TOKEN_SECRET, ImportPayload, validate
from backend.services.hub.reading import load_snapshot
from backend.services.tasks.context import TaskContext
from backend.services.versions import MadeVersion, made_version, record_version, version_options
from backend.settings import Settings

STORED_NAME = "upload.jsonl"
PROGRESS_EVERY = 5000


def run_hub_import(ctx: TaskContext, payload: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Task body. Payload: ImportPayload; optional secret `hf_token` (private or gated repos). Result: see
    import_dataset, written to the upload file of `dataset_id` (DATA_DIR/uploads/<id>/upload.jsonl)."""
    request = validate(ImportPayload, payload)
    settings = settings or Settings()
    out = storage.upload_path(settings, request.dataset_id, STORED_NAME)
    return import_dataset(ctx, request, out, token=ctx.secret(HF_TOKEN_SECRET), endpoint=settings.hf_endpoint,
                          max_bytes=settings.max_upload_bytes)


def run_import_version(ctx: TaskContext, payload: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """The hub_import kind's body: run_hub_import, plus the analysis payload of the file written (on_done's)."""
    settings = settings or Settings()
    dataset_id = validate(ImportPayload, payload).dataset_id
    try:
        result = run_hub_import(ctx, payload, settings)
    except BaseException:
        storage.delete_dataset_files(settings, dataset_id)  # the new version's folder holds nothing else
        raise
    made = made_version(settings, dataset_id=dataset_id, filename=result["filename"],
                        stored_name=result["stored_name"], size_bytes=result["bytes"], sha256=result["sha256"],
                        options=version_options(settings))
    ctx.status(f"Imported {result['rows']:,} rows; analysing them next")
    return {**result, "version": made.model_dump()}


def on_import_done(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    """The imported dataset's row (origin "hub_import", the repo, revision, config and split) and its analysis."""
    made = MadeVersion.model_validate(output["version"])
    detail = {key: output[key] for key in ("repo_id", "url", "revision", "config", "split", "private", "rows")}
    dataset = record_version(session, task, made, origin="hub_import", parent_id=None,
                             origin_detail={"repo": detail.pop("repo_id"), **detail})
    result = {key: value for key, value in output.items() if key != "version"}
    return {**result, "session_id": dataset.id, "analysis_task_id": dataset.analysis_task_id}


def import_dataset(ctx: TaskContext, request: ImportPayload, out_path: Path, *, token: str | None, endpoint: str,
                   max_bytes: int) -> dict[str, Any]:
    """Returns repo, revision (the commit read), config, split, rows, bytes, sha256, stored_name, filename."""
    repo_id = check_repo_id(request.repo)
    if "/" not in repo_id:
        raise InvalidInputError(f"Name the Hub dataset with its owner: owner/{repo_id}.", field="repo")
    api = open_api(endpoint, token)
    work = ctx.work_dir / "import"
    try:
        ctx.status(f"Reading {repo_id} from the Hub")
        with hub_errors(repo_id, token_given=bool(token), action="read"):
            snapshot = load_snapshot(api, repo_id, request.revision, work, max_bytes=max_bytes)
        ctx.checkpoint()
        rows = _load_split(snapshot.path, request, work / "cache", repo_id)
        ctx.status(f"Writing {rows.num_rows:,} rows of {request.split}")
        written, size, digest = _write_jsonl(ctx, rows, out_path, max_bytes, repo_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    name = repo_id.replace("/", "__")
    return {"repo_id": repo_id, "url": repo_page(endpoint, repo_id), "revision": snapshot.sha,
            "config": request.config, "split": request.split, "private": snapshot.private, "rows": written,
            "bytes": size, "sha256": digest, "stored_name": STORED_NAME, "filename": f"{name}-{request.split}.jsonl"}


def _load_split(snapshot: Path, request: ImportPayload, cache: Path, repo_id: str) -> Dataset:
    try:
        rows = load_dataset(str(snapshot), name=request.config, split=request.split, cache_dir=str(cache))
    except (DatasetsError, ValueError, FileNotFoundError, RuntimeError) as exc:
        # Unknown split or config (the message lists the ones there are), no data files, a script-only repo.
        raise InvalidInputError(f"{repo_id} cannot be read as asked: {exc}", code="hub_dataset_unreadable",
                                repo=repo_id) from None
    assert isinstance(rows, Dataset)
    return rows


def _write_jsonl(ctx: TaskContext, rows: Dataset, out_path: Path, max_bytes: int,
                 repo_id: str) -> tuple[int, int, str]:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.part")
    digest = hashlib.sha256()
    written = size = 0
    try:
        with tmp.open("wb", buffering=1 << 20) as f:
            for row in rows:
                line = orjson.dumps(drop_nulls(row), default=str) + b"\n"
                size += len(line)
                if size > max_bytes:
                    raise PayloadTooLargeError(
                        f"{repo_id} is larger than this server's upload limit ({max_bytes / 1e6:,.0f} MB as JSON "
                        "Lines); import a smaller split or config.", code="hub_dataset_too_large",
                        limit_bytes=max_bytes)
                f.write(line)
                digest.update(line)
                written += 1
                if written % PROGRESS_EVERY == 0:
                    ctx.progress(written, rows.num_rows)
                    ctx.checkpoint()
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    ctx.progress(written, rows.num_rows)
    return written, size, digest.hexdigest()
