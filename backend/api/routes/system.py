"""GET / (the web page for browsers, API info for clients), GET /health, GET /config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from backend import __version__
from backend.api.deps import StateDep
from backend.api.schemas.notebooks import training_limits

router = APIRouter(tags=["system"])

FRONTEND_DIR = Path(__file__).resolve().parents[3] / "frontend"


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


@router.get("/", response_model=None)
async def root(request: Request) -> Response:
    index = FRONTEND_DIR / "index.html"
    if _wants_html(request) and index.exists():
        return FileResponse(index, media_type="text/html")
    return JSONResponse({
        "name": "SLMGen API",
        "version": __version__,
        "status": "ok",
        "docs": "/docs",
        "endpoints": ["/upload", "/analyze/{session_id}", "/preview/{session_id}", "/recommend", "/generate",
                      "/jobs", "/models", "/health"],
    })


@router.get("/health")
async def health() -> dict[str, str]:
    # Deliberately touches nothing: it must answer at once even while analyses keep the workers busy.
    return {"status": "ok"}


@router.get("/config")
async def config(state: StateDep) -> dict[str, Any]:
    """What the web page needs to know: how to sign people in, upload limits, training setting bounds."""
    settings = state.settings
    anon = settings.supabase_anon_key
    return {
        "version": __version__,
        "auth_mode": "supabase" if anon else "development",
        "supabase_url": settings.supabase_url,
        "supabase_anon_key": anon,
        "max_upload_bytes": settings.max_upload_bytes,
        "default_max_seq_length": settings.default_max_seq_length,
        "default_tokenizer": settings.default_tokenizer,
        "training_limits": training_limits(),
    }
