"""The `slmgen worker` process: consumers for its queues, kept alive, and the recovery sweep.

Consumers are forked (the supervisor imports the task code once, so every worker starts warm and shares it).
SIGTERM or SIGINT stops them: a running task that is safe to rerun starts over as its next attempt, any other
ends ERROR (worker_stopped); a SIGKILL'd worker is found later by recovery, on whichever machine sweeps first.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from backend.db import tasks as task_repo
from backend.services.tasks import kinds, recovery, runner
from backend.settings import Settings
from backend.worker.consumer import run_consumer

log = logging.getLogger("slmgen.worker")

# What a queue's work imports, loaded before forking so that worker processes start with it.
WARM_MODULES = {"analysis": ("backend.core.analysis", "backend.services.analysis_task")}


def sweep_interval(settings: Settings) -> float:
    return min(2.0, max(0.2, settings.task_lease_seconds / 4))


def warm_up(settings: Settings, queues: list[str]) -> None:
    for name in queues:
        for module in WARM_MODULES.get(name, ()):
            importlib.import_module(module)
    if "analysis" in queues:
        from backend.core.tokens import get_counter

        try:
            get_counter(settings.default_tokenizer)  # the vocabulary loads once, here, not in every chunk
        except Exception:  # an unavailable default tokenizer is reported by the analyses themselves
            log.warning("could not preload the tokenizer %s", settings.default_tokenizer, exc_info=True)


def has_nvidia_gpu() -> bool:
    """Whether this machine has an NVIDIA GPU (its driver lists one), without importing torch."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return (gpus.is_dir() and any(gpus.iterdir())) or shutil.which("nvidia-smi") is not None


# Queues only some machines may take: work routed there needs what the machine has.
QUEUE_NEEDS: dict[str, tuple[str, Callable[[], bool]]] = {"gpu": ("an NVIDIA GPU", has_nvidia_gpu)}


def usable_queues(queues: list[str], explicit: bool) -> list[str]:
    usable = []
    for name in queues:
        need = QUEUE_NEEDS.get(name)
        if need is not None and not explicit and not need[1]():
            log.info("not taking the %s queue: this machine has no %s", name, need[0])
            continue
        usable.append(name)
    return usable


def run_worker(settings: Settings, kind_names: list[str] | None = None, queue_names: list[str] | None = None) -> int:
    kinds.load_plugins(settings.task_plugins)
    queues = usable_queues(queue_names or kinds.queues_for(kind_names), explicit=queue_names is not None)
    if not queues:
        log.error("no queue to take on this machine")
        return 2
    warm_up(settings, queues)
    context = multiprocessing.get_context("fork")
    stopping = threading.Event()

    def start(name: str) -> BaseProcess:
        process = context.Process(target=run_consumer, args=(settings, name, settings.workers_for(name)),
                                  name=f"slmgen-consumer-{name}")
        process.start()
        return process

    consumers = {name: start(name) for name in queues}
    log.info("worker started: queues %s", ", ".join(queues))
    me = runner.worker_name()
    db = runner.database(settings)

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    interval = sweep_interval(settings)
    while not stopping.wait(interval):
        for name, process in list(consumers.items()):
            if not process.is_alive():
                log.warning("the consumer of queue %s stopped (exit %s); starting it again", name,
                            process.exitcode)
                consumers[name] = start(name)
        try:
            with db.begin() as session:
                task_repo.see_worker(session, me, queues)
            recovery.sweep(settings)
        except Exception:  # a failed sweep (database blip) is retried at the next interval
            log.exception("the recovery sweep failed")
    _stop_consumers(list(consumers.values()))
    with contextlib.suppress(Exception), db.begin() as session:
        task_repo.forget_worker(session, me)
    return 0


def _stop_consumers(processes: list[BaseProcess], timeout: float = 10.0) -> None:
    """Interrupt running tasks (Huey's SIGTERM), wait for them to record how they ended, then make sure."""
    for process in processes:
        if process.is_alive() and process.pid:
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
