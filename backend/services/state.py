"""What the running app holds: settings, database, token verifier, limiters, the embedded workers."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.auth import TokenVerifier
from backend.db.engine import create_engine, create_sessionmaker
from backend.services.limits import SlidingWindowLimiter
from backend.services.tasks.embedded import EmbeddedWorkers
from backend.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    verifier: TokenVerifier
    upload_limiter: SlidingWindowLimiter
    generate_limiter: SlidingWindowLimiter
    workers: EmbeddedWorkers | None = None
    event_streams: Counter[str] = field(default_factory=Counter)  # open SSE streams per client

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        settings.notebooks_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.resolved_database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            verifier=TokenVerifier(settings.supabase_url, settings.supabase_jwt_secret,
                                   jwks_cache_seconds=settings.jwks_cache_seconds),
            upload_limiter=SlidingWindowLimiter("upload", settings.upload_rate_per_minute, 60),
            generate_limiter=SlidingWindowLimiter("notebook generation", settings.generate_rate_per_minute, 60),
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends normally, rolled back otherwise."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def start_workers(self) -> None:
        if self.settings.embedded_workers and self.workers is None:
            self.workers = EmbeddedWorkers(self.settings)
            await self.workers.start()

    async def close(self) -> None:
        if self.workers is not None:
            await self.workers.stop()
        await self.engine.dispose()
