"""POST /generate and the download link: a notebook for an analysed dataset and a chosen model."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from backend.auth import User
from backend.core.analysis.preference import check_sft_data, check_sft_examples
from backend.core.analysis.store import iter_canonical, record_numbers
from backend.core.catalog import ModelEntry, load_catalog
from backend.core.conversation import DatasetProfile
from backend.core.errors import CoreError, ExpiredError, NotFoundError, UnauthorizedError
from backend.core.notebook import (
    EMBED_LIMIT_BYTES,
    DataSource,
    DataStats,
    TrainingConfig,
    notebook_bytes,
    plan_notebook,
    render_notebook,
    with_parameters,
)
from backend.core.related import find_related
from backend.db import repository as repo
from backend.db.models import Notebook
from backend.services import storage
from backend.services.colab.service import link_notebook, open_run
from backend.services.datasets import as_aware, finished_report, get_dataset_for, store_dir, utcnow
from backend.services.gist import NO_TOKEN_HINT, publish_gist
from backend.services.state import AppState

log = logging.getLogger("slmgen.notebooks")


@dataclass(frozen=True)
class GeneratedNotebook:
    notebook_id: str
    notebook_path: str  # the notebook's file name; server paths are never shown to clients
    download_url: str
    colab_url: str | None
    colab_instructions: str | None
    expires_at: datetime
    size_bytes: int
    model_id: str
    examples_included: int = 0
    examples_left_out: int = 0
    left_out: tuple[tuple[int, str], ...] = ()  # (record number, why), the first few
    records_total: int = 0  # records in the uploaded file
    records_unusable: int = 0  # records the analysis could not use (never reach the notebook)
    report_run_id: str | None = None  # training (issue 13): the Colab run the notebook reports to, when opted in


@dataclass(frozen=True)
class RenderedFile:
    stored_name: str
    size: int
    data: bytes
    stats: DataStats  # what went into the notebook: examples counted, the ones left out and why


def render_to_file(entry: ModelEntry, store: Path, profile: DatasetProfile, config: TrainingConfig,
                   source: DataSource, dataset_name: str, target_dir: Path, notebook_id: str,
                   parameters: dict[str, Any] | None = None) -> RenderedFile:
    """CPU-bound: plan, render, validate, write atomically. Runs in a worker thread."""
    # Related examples (duplicates, shared prompts) go to the same side of the notebook's eval split. Data too
    # large to embed is refused by the planner (413) without this pass.
    canonical_bytes = sum(p.stat().st_size for p in store.glob("chunk-*.jsonl"))
    embeddable = source.kind == "embedded" and canonical_bytes <= EMBED_LIMIT_BYTES
    groups = find_related(store).components().tolist() if embeddable else None
    plan = plan_notebook(entry, check_sft_examples(iter_canonical(store)), profile, config, source,
                         dataset_name=dataset_name, record_numbers=record_numbers(store), example_groups=groups)
    notebook = render_notebook(plan)
    if parameters:  # training (issue 13): a Colab run's REPORT_URL and REPORT_TOKEN, when the user opted in
        notebook = with_parameters(notebook, **parameters)
    data = notebook_bytes(notebook)
    stored_name = f"{notebook_id}__{plan.notebook_filename}"
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".tmp-", suffix=".ipynb")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target_dir / stored_name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return RenderedFile(stored_name, len(data), data, plan.stats)


def download_name(stored_name: str) -> str:
    return stored_name.split("__", 1)[-1]


async def generate_notebook(state: AppState, user: User | None, client: str, session_id: str, model_id: str,
                            config: TrainingConfig, source: DataSource, github_token: str | None,
                            report_to: str | None = None) -> GeneratedNotebook:
    state.generate_limiter.hit(client)
    dataset = await get_dataset_for(state, session_id, user)
    report = await finished_report(state, dataset)
    check_sft_data(report.preference)  # preference data is never trained as SFT by accident
    entry = load_catalog().get(model_id)
    notebook_id = secrets.token_urlsafe(16)
    report_run, parameters = await _report_back(state, user, entry.model_id, dataset.id, report_to)
    rendered = await asyncio.to_thread(
        render_to_file, entry, store_dir(state, dataset), report.profile(), config, source,
        dataset.filename, state.settings.notebooks_dir, notebook_id, parameters)
    stored_name, size, data, stats = rendered.stored_name, rendered.size, rendered.data, rendered.stats
    left_out = [[index, reason] for index, reason in stats.skipped]
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=state.settings.download_link_ttl_hours)
    owner = user.id if user else None
    try:
        colab_url, instructions = await _colab_link(data, download_name(stored_name),
                                                    github_token or state.settings.github_token,
                                                    state.settings.github_api_url)
        async with state.session() as session:
            await repo.add_notebook(session, Notebook(
                id=notebook_id, dataset_id=session_id, owner_id=owner, model_id=entry.model_id,
                training_config=config.model_dump(exclude_none=True), stored_name=stored_name, size_bytes=size,
                download_token=token, expires_at=expires, colab_url=colab_url,
                examples_included=stats.num_examples, examples_left_out=stats.skipped_count,
                records_unusable=report.records_unusable, left_out_examples=left_out))
            if report_run is not None:
                await session.run_sync(lambda s: link_notebook(s, report_run, notebook_id))
            if owner:
                await repo.record_job_progress(
                    session, owner, session_id, model_id=entry.model_id,
                    training_config=config.model_dump(exclude_none=True), notebook_id=notebook_id,
                    colab_url=colab_url, status="generated")
    except BaseException:
        storage.notebook_path(state.settings, stored_name).unlink(missing_ok=True)  # no orphan file
        raise
    return GeneratedNotebook(notebook_id=notebook_id, notebook_path=download_name(stored_name),
                             download_url=f"/download/{token}", colab_url=colab_url,
                             colab_instructions=instructions, expires_at=expires, size_bytes=size,
                             model_id=entry.model_id, examples_included=stats.num_examples,
                             examples_left_out=stats.skipped_count, left_out=stats.skipped,
                             records_total=report.records_total, records_unusable=report.records_unusable,
                             report_run_id=report_run)


async def _report_back(state: AppState, user: User | None, model_id: str, dataset_id: str,
                       report_to: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """training (issue 13): with report_progress, a Colab run whose per-run token the notebook carries."""
    if report_to is None:
        return None, None
    if user is None:
        raise UnauthorizedError("Sign in to have the notebook report its training back: the run is shown to you "
                                "alone.", code="not_authenticated")
    run, token = await open_run(state, user, model_id, dataset_id)
    url = report_to.rstrip("/") + f"/training/colab/{run.id}/report"
    return run.id, {"REPORT_URL": url, "REPORT_TOKEN": token}


async def _colab_link(data: bytes, filename: str, token: str | None,
                      api_url: str) -> tuple[str | None, str | None]:
    """A Colab link through a secret gist when a GitHub token is configured; otherwise instructions."""
    if not token:
        return None, NO_TOKEN_HINT
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            gist = await publish_gist(data, filename, token, client=client, api_url=api_url)
    except (CoreError, httpx.HTTPError) as exc:
        # The notebook itself is fine: say why there is no link rather than failing the whole request.
        reason = exc.detail if isinstance(exc, CoreError) else "GitHub could not be reached"
        log.warning("gist upload failed: %s", reason)
        return None, f"No Colab link: {reason}. {NO_TOKEN_HINT}"
    return gist.colab_url, None


@dataclass(frozen=True)
class NotebookDownload:
    path: Path
    filename: str


async def open_download(state: AppState, token: str, user: User | None) -> NotebookDownload:
    """The file behind a download link: always for its owner, for others until the link expires."""
    async with state.session() as session:
        notebook = await repo.get_notebook_by_token(session, token) if 16 <= len(token) <= 64 else None
    if notebook is None:
        raise NotFoundError("No notebook behind this download link; generate it again.", code="notebook_not_found")
    is_owner = user is not None and notebook.owner_id == user.id
    expires = as_aware(notebook.expires_at)
    if not is_owner and expires is not None and expires <= utcnow():
        raise ExpiredError("This download link has expired; generate the notebook again (or sign in as its "
                           "owner to download it).", code="link_expired")
    path = storage.notebook_path(state.settings, notebook.stored_name)
    if not path.exists():
        raise NotFoundError("The notebook file is gone (deleted with its job); generate it again.",
                            code="notebook_not_found")
    return NotebookDownload(path, download_name(notebook.stored_name))


def generated_payload(result: GeneratedNotebook) -> dict[str, Any]:
    return {
        "notebook_path": result.notebook_path, "colab_url": result.colab_url,
        "download_url": result.download_url, "notebook_id": result.notebook_id,
        "colab_instructions": result.colab_instructions, "expires_at": result.expires_at.isoformat(),
        "size_bytes": result.size_bytes, "model_id": result.model_id,
        "examples_included": result.examples_included, "examples_left_out": result.examples_left_out,
        "left_out": [{"index": index, "reason": reason} for index, reason in result.left_out],
        "records_total": result.records_total, "records_unusable": result.records_unusable,
        "report_run_id": result.report_run_id,
    }
