"""Fixtures for the reliability tests: the real app in-process (tests/api/conftest.py) with roomy limits.

`settings` here replaces the API tests' one so that dozens of hostile uploads in one test are not refused
by the rate limiter (the limits have their own tests, with small limits, in test_limits.py). `client` and
`auth_headers` are the API tests' fixtures, re-exported; they pick up this module's `settings`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.api.app import create_app
from backend.db.engine import upgrade_database
from backend.settings import Settings
from tests.api.conftest import auth_headers, client  # noqa: F401 - fixtures re-exported for this package


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings with DATA_DIR in a temporary folder and no .env read; one analysis worker."""
    values: dict[str, Any] = {"data_dir": data_dir, "analysis_workers": 1, "anonymous_ttl_hours": 1.0,
                              "upload_rate_per_minute": 10_000, "generate_rate_per_minute": 10_000,
                              "max_analyses_per_client": 50, **overrides}
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@asynccontextmanager
async def running_client(settings: Settings, *, raise_app_exceptions: bool = True,
                         ) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with `settings` (migrated database, worker processes), and a client talking to it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade_database, settings.resolved_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as c:
            yield c


def assert_error_body(response: httpx.Response) -> dict[str, Any]:
    """A 4xx/5xx body in the one error shape: a sentence for a person and a stable code."""
    body = response.json()
    assert isinstance(body, dict), response.text
    assert isinstance(body.get("detail"), str) and body["detail"].strip(), response.text
    assert isinstance(body.get("error"), str) and body["error"].strip(), response.text
    return body


def assert_nothing_internal(response: httpx.Response, settings: Settings) -> None:
    """No stack trace, server path or secret in what a client is told."""
    text = response.text
    assert "Traceback" not in text, text[:2000]
    assert 'File "' not in text, text[:2000]
    assert str(settings.data_dir.resolve()) not in text, text[:2000]
    assert str(settings.data_dir) not in text, text[:2000]
    assert settings.supabase_jwt_secret not in text, text[:2000]


def assert_report_consistent(report: dict[str, Any]) -> None:
    """Every record is either a usable example or an unusable one with a reason."""
    assert report["records_total"] == report["total_examples"] + report["records_unusable"], report
    assert len(report["unusable"]) <= report["records_unusable"]
    for record in report["unusable"]:
        assert record["code"].strip() and record["message"].strip(), record
    if report["records_unusable"]:
        issue = next(i for i in report["issues"] if i["code"] == "unusable_record")
        assert issue["count"] == report["records_unusable"]
