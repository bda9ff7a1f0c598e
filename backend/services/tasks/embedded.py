"""Embedded workers: `slmgen serve` runs `slmgen worker` beside itself, so one command serves everything.

The worker is a separate process tree (never a thread of the server): the same program a split deployment runs
on other machines, started with the server's own settings, dying with the server (the kernel tells it when its
parent goes away), and started again if it stops unexpectedly. EMBEDDED_WORKERS=false turns this off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from backend.settings import Settings

log = logging.getLogger("slmgen.workers")

RESTART_DELAY_SECONDS = 2.0


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as environment variables, so a child process reads exactly what this one uses."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value: Any = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, Path):
            value = str(value.resolve())
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        env[name.upper()] = str(value)
    env["DATABASE_URL"] = settings.resolved_database_url
    return env


def _die_with_server() -> None:
    from backend.worker.process import die_with_parent

    die_with_parent(signal.SIGTERM)


class EmbeddedWorkers:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **settings_env(self._settings)}
        command = [sys.executable, "-m", "backend.worker"]
        return subprocess.Popen(command, env=env, preexec_fn=_die_with_server)  # noqa: PLW1509 - prctl only

    async def start(self) -> None:
        self._process = self._spawn()
        self._watch = asyncio.create_task(self._keep_running())
        log.info("embedded workers started (pid %s)", self._process.pid)

    async def _keep_running(self) -> None:
        while not self._stopping:
            assert self._process is not None
            code = await asyncio.to_thread(self._process.wait)
            if self._stopping:
                return
            log.error("the embedded workers stopped (exit %s); starting them again", code)
            await asyncio.sleep(RESTART_DELAY_SECONDS)
            if not self._stopping:
                self._process = self._spawn()

    async def stop(self, timeout: float = 15.0) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), timeout)
            except TimeoutError:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
