"""Removes what has expired: anonymous uploads (with their reports) and anonymous notebooks."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from backend.db import repository as repo
from backend.services import storage
from backend.services.datasets import utcnow
from backend.services.state import AppState

log = logging.getLogger("slmgen.cleanup")


@dataclass(frozen=True)
class Purged:
    datasets: int
    notebooks: int


async def purge_expired(state: AppState) -> Purged:
    now = utcnow()
    async with state.session() as session:
        datasets = [d for d in await repo.list_expired_datasets(session, now)
                    if not state.runner.is_running(d.id)]
        notebooks = await repo.list_expired_anonymous_notebooks(session, now)
        for notebook in notebooks:
            await repo.delete_notebook(session, notebook.id)
        for dataset in datasets:
            await repo.delete_dataset(session, dataset.id)
    # Files only after the rows are gone for good: a failed commit leaves everything as it was.
    for notebook in notebooks:
        storage.delete_notebook_file(state.settings, notebook)
    for dataset in datasets:
        storage.delete_dataset_files(state.settings, dataset.id)
    if datasets or notebooks:
        log.info("purged %d expired uploads and %d expired notebooks", len(datasets), len(notebooks))
    return Purged(len(datasets), len(notebooks))


async def purge_periodically(state: AppState, interval_seconds: float) -> None:
    while True:
        try:
            await purge_expired(state)
        except Exception:  # a failed sweep must not end the loop: the next one retries
            log.exception("purging expired uploads failed")
        await asyncio.sleep(interval_seconds)
