"""Database fixtures: every test runs on SQLite (a fresh file) and on a real PostgreSQL server.

- `db_url`: a fresh, empty database URL, parametrized over "sqlite" and "postgres" (the latter marked
  `postgres`; it fails loudly when the server cannot start).
- `migrated_url`: the same, upgraded to the latest migration.
- `engine` / `session`: an engine with the app's settings and one session on the migrated database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.db.engine import create_engine, create_sessionmaker, upgrade_database
from tests.support.postgres import create_database, drop_database

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db' / 'slmgen.db'}"
        return
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
async def migrated_url(db_url: str) -> str:
    await asyncio.to_thread(upgrade_database, db_url)
    return db_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_sessionmaker(engine)() as session:
        yield session
