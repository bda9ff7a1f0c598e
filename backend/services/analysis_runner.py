"""Runs analyses off the event loop: chunk work in worker processes, progress kept for polling.

The event loop only schedules: `analyze_file` runs in a thread that hands every chunk to the process
pool, so a long analysis never delays other requests, and several analyses share the same workers.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from backend.core.analysis import AnalysisOptions, Report, analyze_file
from backend.core.errors import CoreError, RateLimitedError, UnavailableError

log = logging.getLogger("slmgen.analysis")


@dataclass
class Progress:
    status: str  # "queued" | "analyzing"
    fraction: float


@dataclass(frozen=True)
class AnalysisOutcome:
    report: Report | None
    error_code: str | None = None
    error_detail: str | None = None


OnFinished = Callable[[str, AnalysisOutcome], Awaitable[None]]
OnStarted = Callable[[str], Awaitable[None]]


def lower_worker_priority() -> None:
    """Analysis workers yield the CPU to the server process, so requests stay fast while they work."""
    import os

    os.nice(10)


def warm_up_worker(tokenizer: str) -> str:
    """Load the tokenizer once per worker so the first analysis does not pay for it."""
    from backend.core.tokens import get_counter

    return get_counter(tokenizer).info.counted_with


class AnalysisRunner:
    def __init__(self, workers: int, max_concurrent: int, max_queued: int = 100, max_per_client: int = 3) -> None:
        self._workers = workers
        self._pool = self._new_pool()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_queued = max_queued
        self._max_per_client = max_per_client
        self._progress: dict[str, Progress] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._clients: dict[str, str] = {}  # dataset id -> client key, while queued or running

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server has threads (database driver, this runner) that a fork would copy mid-state.
        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=lower_worker_priority)

    @property
    def pool(self) -> ProcessPoolExecutor:
        return self._pool

    def warm_up(self, tokenizer: str) -> None:
        for _ in range(self._workers):
            self._pool.submit(warm_up_worker, tokenizer)

    def progress(self, dataset_id: str) -> Progress | None:
        return self._progress.get(dataset_id)

    def is_running(self, dataset_id: str) -> bool:
        task = self._tasks.get(dataset_id)
        return task is not None and not task.done()

    def check_capacity(self, client: str) -> None:
        """Refuse a new analysis before anything is stored, when the queue or this client's share is full."""
        if len(self._tasks) >= self._max_queued:
            raise UnavailableError("The server is analysing as many datasets as it can queue; try again in a "
                                   "minute.", code="analysis_queue_full", retry_after=30)
        mine = sum(1 for owner in self._clients.values() if owner == client)
        if mine >= self._max_per_client:
            raise RateLimitedError(f"You already have {mine} analyses running or waiting (the limit is "
                                   f"{self._max_per_client}); wait for one to finish.", retry_after=5)

    def submit(self, dataset_id: str, path: Path, store: Path, options: AnalysisOptions,
               on_started: OnStarted, on_finished: OnFinished, client: str = "") -> None:
        if self.is_running(dataset_id):
            return
        self._progress[dataset_id] = Progress("queued", 0.0)
        self._clients[dataset_id] = client
        task = asyncio.create_task(self._run(dataset_id, path, store, options, on_started, on_finished))
        self._tasks[dataset_id] = task

        def forget(_: asyncio.Task[None]) -> None:
            self._tasks.pop(dataset_id, None)
            self._clients.pop(dataset_id, None)

        task.add_done_callback(forget)

    async def _run(self, dataset_id: str, path: Path, store: Path, options: AnalysisOptions,
                   on_started: OnStarted, on_finished: OnFinished) -> None:
        async with self._slots:
            progress = self._progress[dataset_id]
            progress.status = "analyzing"
            await on_started(dataset_id)

            def on_progress(fraction: float) -> None:
                progress.fraction = max(progress.fraction, min(fraction, 1.0))

            outcome = await self._analyze(dataset_id, path, store, options, on_progress)
            try:
                await on_finished(dataset_id, outcome)
            finally:
                self._progress.pop(dataset_id, None)

    async def _analyze(self, dataset_id: str, path: Path, store: Path, options: AnalysisOptions,
                       on_progress: Callable[[float], None]) -> AnalysisOutcome:
        started = time.perf_counter()
        pool = self._pool
        try:
            report = await asyncio.to_thread(analyze_file, path, options, store, executor=pool,
                                             on_progress=on_progress)
        except CoreError as exc:
            return AnalysisOutcome(None, exc.code, exc.detail)
        except BrokenProcessPool:
            log.error("a worker process died while analysing %s; restarting the pool", dataset_id)
            if self._pool is pool:  # every analysis on the broken pool gets here; the first replaces it
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            return AnalysisOutcome(None, "analysis_crashed",
                                   "The analysis worker stopped unexpectedly (out of memory or killed). "
                                   "Nothing was lost: retry the analysis with POST /analyze/{session_id}.")
        except OSError as exc:
            log.error("storage error while analysing %s: %s", dataset_id, exc)
            return AnalysisOutcome(None, "storage_unavailable",
                                   "The analysis could not read or write its files (disk full or not writable). "
                                   "Nothing was lost: retry with POST /analyze/{session_id} once the disk is fixed.")
        except Exception:
            log.exception("analysis of %s failed", dataset_id)
            return AnalysisOutcome(None, "analysis_failed",
                                   "The analysis failed because of an internal error; it has been logged. "
                                   "Retry with POST /analyze/{session_id}.")
        log.info("analysed %s in %.2fs", dataset_id, time.perf_counter() - started)
        return AnalysisOutcome(report)

    async def shutdown(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
