"""Removes what has expired or is no longer read: anonymous uploads (with their reports), anonymous notebooks and
tasks, and analysis stores that a newer analysis replaced."""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from datetime import timedelta

from backend.db import repository as repo
from backend.db import tasks as task_repo
from backend.services import storage
from backend.services.analysis_task import remove_dirs, unused_stores
from backend.services.datasets import is_analysing, utcnow
from backend.services.state import AppState
from backend.services.tasks.worker_context import task_dir

log = logging.getLogger("slmgen.cleanup")

# A replaced store stays this long, so a reader that started just before the switch can finish.
STORE_GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class Purged:
    datasets: int
    notebooks: int
    tasks: int = 0
    stores: int = 0


async def purge_expired(state: AppState) -> Purged:
    now = utcnow()
    async with state.session() as session:
        datasets = [d for d in await repo.list_expired_datasets(session, now) if not await is_analysing(state, d)]
        notebooks = await repo.list_expired_anonymous_notebooks(session, now)
        tasks = await session.run_sync(task_repo.expired_tasks, now)
        for notebook in notebooks:
            await repo.delete_notebook(session, notebook.id)
        for dataset in datasets:
            await repo.delete_dataset(session, dataset.id)
        for task in tasks:
            await session.run_sync(task_repo.delete_task, task.id)
        stores = await session.run_sync(lambda s: unused_stores(s, state.settings, STORE_GRACE))
    # Files only after the rows are gone for good: a failed commit leaves everything as it was.
    for notebook in notebooks:
        storage.delete_notebook_file(state.settings, notebook)
    for dataset in datasets:
        storage.delete_dataset_files(state.settings, dataset.id)
    for task in tasks:
        shutil.rmtree(task_dir(state.settings, task.id), ignore_errors=True)
    remove_dirs(stores)
    if datasets or notebooks or tasks:
        log.info("purged %d expired uploads, %d notebooks and %d tasks", len(datasets), len(notebooks), len(tasks))
    return Purged(len(datasets), len(notebooks), len(tasks), len(stores))


async def purge_periodically(state: AppState, interval_seconds: float) -> None:
    while True:
        try:
            await purge_expired(state)
        except Exception:  # a failed sweep must not end the loop: the next one retries
            log.exception("purging expired uploads failed")
        await asyncio.sleep(interval_seconds)
