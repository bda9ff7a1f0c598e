"""The FastAPI app factory: `create_app(settings)` so tests and the CLI pass their own settings."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from backend import __version__
from backend.api.errors import UnexpectedErrors, install_error_handlers
from backend.api.routes.system import FRONTEND_DIR
from backend.api.security import SecurityHeaders
from backend.services.cleanup import purge_periodically
from backend.services.state import AppState
from backend.services.tasks.kinds import load_plugins
from backend.settings import Settings

log = logging.getLogger("slmgen")

# Router modules under backend.api.routes, each exposing `router`.
ROUTER_MODULES = ("system", "datasets", "models", "recommend", "notebooks", "jobs", "tasks", "export", "hub", "lists",
                  "mapping", "generation",
                  # training (issue 13): runs and seed 000's /train, the registry (seed 002), seed 001's sessions
                  "training", "registry", "sessions", "colab")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check_production_safety()
    load_plugins(settings.task_plugins)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState.create(settings)
        app.state.slmgen = state
        await state.start_workers()  # queued and running tasks carry on: recovery runs in the workers
        sweeper = asyncio.create_task(purge_periodically(state, settings.cleanup_interval_seconds))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper  # before the engine closes: it may be in the middle of a query
            await state.close()

    app = FastAPI(title="SLMGen API", version=__version__, lifespan=lifespan,
                  description="Dataset analysis, model recommendation and fine-tuning notebooks.")
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    # Added first, so it sits inside: an unexpected error becomes a 500 that still gets the headers.
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityHeaders, supabase_url=settings.supabase_url)
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(f"backend.api.routes.{name}").router)
    if FRONTEND_DIR.is_dir():
        app.mount("/app", StaticFiles(directory=FRONTEND_DIR), name="frontend")
    return app
