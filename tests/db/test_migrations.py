"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, and run both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from backend.db.engine import MIGRATIONS_DIR, create_engine, upgrade_database
from backend.db.models import Base

EXPECTED_TABLES = {"alembic_version", "datasets", "notebooks", "jobs", "tasks", "task_parts", "task_events", "workers",
                   "hub_tokens",
                   # training (issue 13)
                   "models", "training_sessions", "colab_runs"}


async def schema_diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn: Connection) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(context, Base.metadata))

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            return None if revision is None else str(revision)
    finally:
        await engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


async def test_empty_database_upgrades_to_head_without_drift(db_url: str) -> None:
    assert await table_names(db_url) == set()
    await asyncio.to_thread(upgrade_database, db_url)
    assert await table_names(db_url) == EXPECTED_TABLES
    assert await current_revision(db_url) == head_revision()
    assert await schema_diff(db_url) == []


async def test_upgrade_is_idempotent_and_downgrade_returns_to_empty(db_url: str) -> None:
    await asyncio.to_thread(upgrade_database, db_url)
    await asyncio.to_thread(upgrade_database, db_url)  # a second `slmgen migrate` changes nothing
    assert await schema_diff(db_url) == []

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = db_url
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await table_names(db_url) == {"alembic_version"}
    await asyncio.to_thread(upgrade_database, db_url)
    assert await table_names(db_url) == EXPECTED_TABLES


async def test_upgrade_called_inside_a_running_event_loop(db_url: str) -> None:
    # The app's startup may call the blocking function directly from async code.
    upgrade_database(db_url)
    assert await current_revision(db_url) == head_revision()


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    db_file = tmp_path / "not" / "yet" / "there" / "slmgen.db"
    upgrade_database(f"sqlite+aiosqlite:///{db_file}")
    assert db_file.is_file()
    assert asyncio.run(table_names(f"sqlite+aiosqlite:///{db_file}")) == EXPECTED_TABLES


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pragma.db'}"

    async def pragmas() -> tuple[str, int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                mode = await conn.scalar(text("PRAGMA journal_mode"))
                foreign_keys = await conn.scalar(text("PRAGMA foreign_keys"))
                return str(mode), int(foreign_keys or 0)
        finally:
            await engine.dispose()

    assert asyncio.run(pragmas()) == ("wal", 1)


async def test_drift_check_notices_a_model_the_migrations_do_not_describe(db_url: str) -> None:
    # Guards the guard: a column missing from the migrations and a changed length are both reported.
    from sqlalchemy import Column, MetaData, String

    await asyncio.to_thread(upgrade_database, db_url)
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["jobs"].append_column(Column("notes", String(500), nullable=True))
    drifted.tables["datasets"].c.sha256.type = String(128)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn: Connection) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(context, drifted))

            diff = await conn.run_sync(compare)
    finally:
        await engine.dispose()
    kinds = sorted(str(d[0][0] if isinstance(d, list) else d[0]) for d in diff)
    assert kinds == ["add_column", "modify_type"], diff
