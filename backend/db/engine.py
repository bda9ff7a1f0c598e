"""The async engine, its sessions, and bringing a database schema up to date with Alembic."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine_from_url
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

# The migrations live beside the package at the repository root (alembic.ini points there too).
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def is_sqlite_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers carry on while the analysis worker writes; SQLite ignores foreign keys
    # (and so ON DELETE SET NULL) unless each connection asks for them.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is crash-safe for the application (only an OS crash or power loss can drop the last
    # commits) and spares an fsync per commit, which the many small task updates would otherwise pay.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for `sqlite+aiosqlite://` or `postgresql+asyncpg://` URLs."""
    if is_sqlite_url(url):
        ensure_sqlite_parent_dir(url)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        return engine
    # pre_ping survives a server restart; recycle avoids connections cut by proxies (e.g. poolers).
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)


def sync_url(url: str) -> str:
    """The same database for blocking code (task workers): pysqlite for SQLite, psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    driver = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def create_sync_engine(url: str) -> Engine:
    """A blocking engine on the database an async `url` names (workers run plain threads, no event loop)."""
    plain = sync_url(url)
    if is_sqlite_url(plain):
        ensure_sqlite_parent_dir(plain)
        engine = create_sync_engine_from_url(plain, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine
    return create_sync_engine_from_url(plain, pool_size=3, max_overflow=5, pool_pre_ping=True, pool_recycle=1800)


def create_sync_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: handlers read attributes after the request's commit without new I/O.
    return async_sessionmaker(engine, expire_on_commit=False)


def ensure_sqlite_parent_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations up to `revision` (blocking).

    Safe to call from inside a running event loop (e.g. an app's startup): the migration then runs
    on a helper thread, because migrations/env.py drives its own event loop.
    """
    from alembic import command
    from alembic.config import Config

    if is_sqlite_url(url):
        ensure_sqlite_parent_dir(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an ini option: a password with '%' would break ini interpolation.
    config.attributes["database_url"] = url

    def run() -> None:
        command.upgrade(config, revision)

    if not _is_event_loop_running():
        run()
        return
    failure: list[BaseException] = []

    def run_capturing() -> None:
        try:
            run()
        except BaseException as exc:  # re-raised in the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=run_capturing, name="slmgen-migrate")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def _is_event_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
