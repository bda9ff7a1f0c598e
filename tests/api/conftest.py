"""The real app in-process: migrations applied to a fresh SQLite file, real worker processes, httpx client.

Fixtures:
- `settings`: Settings with DATA_DIR in tmp_path (no .env read).
- `client`: an httpx.AsyncClient talking to create_app(settings) with its lifespan running.
- `auth_headers(user_id, email=None)`: headers with a real HS256 token minted with the settings' secret.
- `upload_and_analyze(client, path_or_bytes, filename, headers=None)`: uploads, polls until the report is ready,
  returns (session_id, final response JSON).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.api.app import create_app
from backend.db.engine import upgrade_database
from backend.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", analysis_workers=1,  # type: ignore[call-arg]
                    anonymous_ttl_hours=1.0)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade_database, settings.resolved_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as c:
            yield c


@pytest.fixture
def auth_headers(settings: Settings) -> Callable[..., dict[str, str]]:
    from backend.auth import mint_dev_token

    def make(user_id: str, email: str | None = None) -> dict[str, str]:
        token = mint_dev_token(settings.supabase_jwt_secret, settings.supabase_url, user_id, email=email)
        return {"Authorization": f"Bearer {token}"}

    return make


async def upload_and_analyze(client: httpx.AsyncClient, content: Path | bytes, filename: str | None = None,
                             headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                             ) -> tuple[str, httpx.Response]:
    data = content.read_bytes() if isinstance(content, Path) else content
    name = filename or (content.name if isinstance(content, Path) else "data.jsonl")
    up = await client.post("/upload", files={"file": (name, data)}, headers=headers or {}, params=params)
    assert up.status_code == 200, up.text
    session_id = up.json()["session_id"]
    return session_id, await wait_for_analysis(client, session_id, headers)


async def wait_for_analysis(client: httpx.AsyncClient, session_id: str,
                            headers: dict[str, str] | None = None) -> httpx.Response:
    for _ in range(1200):
        r = await client.get(f"/analyze/{session_id}", headers=headers or {})
        if r.status_code != 202:
            return r
        await asyncio.sleep(0.05)
    raise AssertionError("analysis did not finish within 60 s")
