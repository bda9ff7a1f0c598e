"""Alembic environment: async engines (aiosqlite, asyncpg), the models' metadata, batch mode for SQLite."""

from __future__ import annotations

import asyncio
import logging.config
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from backend.db.engine import ensure_sqlite_parent_dir, is_sqlite_url
from backend.db.models import Base
from backend.db.types import UTCDateTime

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def resolve_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from backend.settings import Settings

    return Settings().resolved_database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations spell the plain column type, so they never import application code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        render_item=render_item,
        literal_binds=connection is None,
    )


def run_sync_migrations(connection: Connection) -> None:
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    if is_sqlite_url(url):
        ensure_sqlite_parent_dir(url)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_sync_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # a caller (e.g. a test) handed us an open sync connection
        run_sync_migrations(connection)
        return
    asyncio.run(run_async_migrations(resolve_url()))


if context.is_offline_mode():
    configure(url=resolve_url())
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
