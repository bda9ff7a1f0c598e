"""Outside development, the published development secret is refused before anything is served."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from backend.api.app import create_app
from backend.settings import DEV_JWT_SECRET, Settings


def make_settings(tmp_path: Path, environment: Literal["development", "production"], secret: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", environment=environment, supabase_jwt_secret=secret
    )


def test_production_with_the_development_secret_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="SUPABASE_JWT_SECRET is the development default"):
        create_app(make_settings(tmp_path, "production", DEV_JWT_SECRET))


@pytest.mark.parametrize(
    ("environment", "secret"),
    [("production", "the-project-secret-from-the-supabase-dashboard"), ("development", DEV_JWT_SECRET)],
)
def test_allowed_configurations_serve_the_jobs_routes(
    tmp_path: Path, environment: Literal["development", "production"], secret: str
) -> None:
    paths = create_app(make_settings(tmp_path, environment, secret)).openapi()["paths"]
    assert {"/jobs", "/jobs/{job_id}"} <= set(paths)
    assert set(paths["/jobs/{job_id}"]) == {"get", "patch", "delete"}
