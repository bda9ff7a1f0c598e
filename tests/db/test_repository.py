"""Repository functions against real databases (SQLite and PostgreSQL), with rows built from a real file."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from backend.core.errors import NotFoundError
from backend.db import repository as repo
from backend.db.engine import create_sessionmaker
from backend.db.models import Dataset, Job, Notebook
from tests.conftest import shared_file

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_dataset(
    dataset_id: str,
    *,
    owner_id: str | None = None,
    expires_at: datetime | None = None,
    created_at: datetime = T0,
) -> Dataset:
    data = shared_file(TOY).read_bytes()
    return Dataset(
        id=dataset_id,
        owner_id=owner_id,
        filename=TOY,
        stored_name="upload.jsonl",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        options={"tokenizer": "cl100k_base", "max_seq_length": 2048},
        expires_at=expires_at,
        created_at=created_at,
        updated_at=created_at,
    )


def make_notebook(notebook_id: str, dataset_id: str | None, *, owner_id: str | None = None) -> Notebook:
    return Notebook(
        id=notebook_id,
        dataset_id=dataset_id,
        owner_id=owner_id,
        model_id="qwen2.5-0.5b",
        training_config={"lora_rank": 16, "learning_rate": 2e-4, "num_epochs": 3},
        stored_name=f"{notebook_id}.ipynb",
        size_bytes=48_213,
        download_token=f"tok-{notebook_id}",
        expires_at=T0 + timedelta(days=7),
    )


async def reopen(engine: AsyncEngine) -> AsyncSession:
    return create_sessionmaker(engine)()


async def test_dataset_round_trip_keeps_values_and_returns_aware_utc(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    data = shared_file(TOY).read_bytes()
    # A non-UTC aware time is stored as the same instant.
    expires = datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    await repo.add_dataset(session, make_dataset("ds-roundtrip-01", expires_at=expires))
    await session.commit()

    async with await reopen(engine) as fresh:
        got = await repo.get_dataset(fresh, "ds-roundtrip-01")
        assert got is not None
        assert got.size_bytes == len(data) == shared_file(TOY).stat().st_size
        assert got.sha256 == hashlib.sha256(data).hexdigest()
        assert got.options == {"tokenizer": "cl100k_base", "max_seq_length": 2048}
        assert (got.origin, got.store_name, got.analysis_task_id, got.report) == ("upload", None, None, None)
        assert got.created_at == T0 and got.created_at.tzinfo is UTC
        assert got.expires_at == datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
        assert got.expires_at is not None and got.expires_at.tzinfo is UTC
        assert await repo.get_dataset(fresh, "no-such-dataset") is None


async def test_naive_datetimes_are_refused(session: AsyncSession) -> None:
    dataset = make_dataset("ds-naive-0001", expires_at=datetime(2026, 11, 2, 9, 30))
    with pytest.raises(Exception, match="naive datetime"):
        await repo.add_dataset(session, dataset)


async def test_update_dataset_sets_columns_and_touches_updated_at(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    await repo.add_dataset(session, make_dataset("ds-update-001"))
    await session.commit()
    report = {"total_examples": 5, "per_example_total_tokens": [45, 111, 26, 28, 8032]}
    analyzed = datetime(2026, 11, 1, 12, 5, tzinfo=UTC)
    await repo.update_dataset(
        session,
        "ds-update-001",
        report=report,
        store_name="tasks/0123456789abcdef0123456789abcdef/1",
        analyzed_at=analyzed,
    )
    await session.commit()
    async with await reopen(engine) as fresh:
        got = await repo.get_dataset(fresh, "ds-update-001")
        assert got is not None
        assert (got.store_name, got.analyzed_at) == ("tasks/0123456789abcdef0123456789abcdef/1", analyzed)
        assert got.report == report
        assert got.updated_at > T0  # set to now by the update


async def test_update_dataset_refuses_missing_rows_and_unknown_columns(session: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="ds-missing"):
        await repo.update_dataset(session, "ds-missing", report={})
    await repo.add_dataset(session, make_dataset("ds-columns-01"))
    with pytest.raises(TypeError, match="colour"):
        await repo.update_dataset(session, "ds-columns-01", colour="blue")
    with pytest.raises(TypeError, match="owner_id"):
        await repo.update_dataset(session, "ds-columns-01", owner_id="someone-else")


async def test_expiry_listings(session: AsyncSession) -> None:
    now = T0 + timedelta(hours=24)
    rows = [
        make_dataset("ds-ready-exp", expires_at=now - timedelta(seconds=1)),
        make_dataset("ds-ready-now", expires_at=now),
        make_dataset("ds-ready-live", expires_at=now + timedelta(seconds=1)),
        make_dataset("ds-owned", owner_id="user-a", expires_at=None),
    ]
    for row in rows:
        await repo.add_dataset(session, row)
    expired = await repo.list_expired_datasets(session, now)
    assert [d.id for d in expired] == ["ds-ready-exp", "ds-ready-now"]
    await repo.delete_dataset(session, "ds-ready-exp")
    assert await repo.get_dataset(session, "ds-ready-exp") is None
    assert [d.id for d in await repo.list_expired_datasets(session, now)] == ["ds-ready-now"]


async def test_deleting_rows_nulls_the_references_to_them(session: AsyncSession, engine: AsyncEngine) -> None:
    await repo.add_dataset(session, make_dataset("ds-fk-000001", owner_id="user-a"))
    await repo.add_notebook(session, make_notebook("nb-fk-000001", "ds-fk-000001", owner_id="user-a"))
    job = await repo.record_job_progress(
        session, "user-a", "ds-fk-000001", notebook_id="nb-fk-000001", status="generated"
    )
    await session.commit()

    await repo.delete_dataset(session, "ds-fk-000001")
    await repo.delete_notebook(session, "nb-fk-000001")
    await session.commit()
    async with await reopen(engine) as fresh:
        assert await repo.get_notebook(fresh, "nb-fk-000001") is None
        kept = await repo.get_job(fresh, "user-a", job.id)
        assert kept is not None and kept.notebook_id is None and kept.status == "generated"


async def test_notebook_dataset_reference_is_set_null(session: AsyncSession, engine: AsyncEngine) -> None:
    await repo.add_dataset(session, make_dataset("ds-fk-000002"))
    await repo.add_notebook(session, make_notebook("nb-fk-000002", "ds-fk-000002"))
    await session.commit()
    await repo.delete_dataset(session, "ds-fk-000002")
    await session.commit()
    async with await reopen(engine) as fresh:
        notebook = await repo.get_notebook_by_token(fresh, "tok-nb-fk-000002")
        assert notebook is not None and notebook.dataset_id is None
        assert notebook.expires_at == T0 + timedelta(days=7)
        assert notebook.training_config == {"lora_rank": 16, "learning_rate": 2e-4, "num_epochs": 3}
        assert await repo.get_notebook_by_token(fresh, "tok-unknown") is None


async def test_download_tokens_are_unique(session: AsyncSession) -> None:
    await repo.add_notebook(session, make_notebook("nb-token-0001", None))
    twin = make_notebook("nb-token-0002", None)
    twin.download_token = "tok-nb-token-0001"
    with pytest.raises(IntegrityError):
        await repo.add_notebook(session, twin)


async def test_jobs_are_paged_newest_first_and_only_for_their_owner(session: AsyncSession) -> None:
    for n in range(7):
        await repo.add_job(
            session,
            Job(
                id=f"job-a-{n}",
                owner_id="user-a",
                session_id=f"sess-{n}",
                created_at=T0 + timedelta(minutes=n),
                updated_at=T0,
            ),
        )
    await repo.add_job(
        session, Job(id="job-b-0", owner_id="user-b", session_id="sess-0", created_at=T0, updated_at=T0)
    )
    page, total = await repo.list_jobs(session, "user-a", limit=3, offset=0)
    assert total == 7 and [j.id for j in page] == ["job-a-6", "job-a-5", "job-a-4"]
    page, total = await repo.list_jobs(session, "user-a", limit=3, offset=6)
    assert total == 7 and [j.id for j in page] == ["job-a-0"]
    page, total = await repo.list_jobs(session, "user-b", limit=50, offset=0)
    assert (total, [j.id for j in page]) == (1, ["job-b-0"])
    assert await repo.list_jobs(session, "user-c", limit=50, offset=0) == ([], 0)

    assert await repo.get_job(session, "user-b", "job-a-1") is None
    assert (await repo.get_job(session, "user-a", "job-a-1")) is not None
    with pytest.raises(NotFoundError):
        await repo.update_job(session, "user-b", "job-a-1", status="failed")
    await repo.delete_job(session, "user-b", "job-a-1")  # not theirs: nothing happens
    assert (await repo.get_job(session, "user-a", "job-a-1")) is not None
    assert await repo.count_jobs_using_dataset(session, "sess-0") == 2
    assert await repo.count_jobs_using_dataset(session, "sess-0", exclude_job_id="job-b-0") == 1
    await repo.delete_job(session, "user-a", "job-a-0")
    assert await repo.count_jobs_using_dataset(session, "sess-0") == 1


async def test_record_job_progress_finds_or_creates_one_job_per_session(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    first = await repo.record_job_progress(
        session,
        "user-a",
        "sess-flow-01",
        dataset_filename=TOY,
        status="analyzed",
        dataset_stats={"total_examples": 5},
    )
    second = await repo.record_job_progress(
        session,
        "user-a",
        "sess-flow-01",
        status="recommended",
        task_type="qa",
        deployment_target="cloud",
        model_id="qwen2.5-0.5b",
        model_score=0.87,
    )
    other_user = await repo.record_job_progress(session, "user-b", "sess-flow-01", status="analyzed")
    await session.commit()
    assert first.id == second.id != other_user.id
    async with await reopen(engine) as fresh:
        job = await repo.find_job_for_session(fresh, "user-a", "sess-flow-01")
        assert job is not None
        assert (job.status, job.dataset_filename, job.model_id, job.model_score) == (
            "recommended",
            TOY,
            "qwen2.5-0.5b",
            0.87,
        )
        assert job.dataset_stats == {"total_examples": 5}
        assert job.updated_at >= job.created_at and job.created_at.tzinfo is UTC
        assert (await repo.list_jobs(fresh, "user-a", limit=10, offset=0))[1] == 1


async def test_record_job_progress_survives_a_concurrent_insert(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two requests of one user look for the session's job at the same time; both then try to create it.
    maker = create_sessionmaker(engine)
    async with maker() as first, maker() as second:
        assert await repo.find_job_for_session(second, "user-a", "sess-race-01") is None
        winner = await repo.record_job_progress(first, "user-a", "sess-race-01", status="analyzed")
        await first.commit()
        original_find = repo.find_job_for_session_sync
        calls = 0

        def stale_then_real(s: Session, owner: str, sid: str) -> Job | None:
            nonlocal calls
            calls += 1
            return None if calls == 1 else original_find(s, owner, sid)

        monkeypatch.setattr(repo, "find_job_for_session_sync", stale_then_real)
        loser = await repo.record_job_progress(second, "user-a", "sess-race-01", model_id="smollm2-360m")
        monkeypatch.undo()
        await second.commit()
        assert loser.id == winner.id and calls == 2
    async with maker() as fresh:
        job = await repo.find_job_for_session(fresh, "user-a", "sess-race-01")
        assert job is not None and (job.status, job.model_id) == ("analyzed", "smollm2-360m")


async def test_notebooks_of_one_owner_and_dataset(session: AsyncSession) -> None:
    await repo.add_dataset(session, make_dataset("ds-notebooks-1"))
    await repo.add_dataset(session, make_dataset("ds-notebooks-2"))
    for notebook_id, dataset_id, owner in [
        ("nb-list-0001", "ds-notebooks-1", "user-a"),
        ("nb-list-0002", "ds-notebooks-1", "user-b"),
        ("nb-list-0003", "ds-notebooks-1", "user-a"),
        ("nb-list-0004", "ds-notebooks-2", "user-a"),
        ("nb-list-0005", "ds-notebooks-1", None),
    ]:
        notebook = make_notebook(notebook_id, dataset_id, owner_id=owner)
        notebook.created_at = T0 + timedelta(minutes=int(notebook_id[-1]))
        await repo.add_notebook(session, notebook)
    found = await repo.list_notebooks_for_dataset(session, "user-a", "ds-notebooks-1")
    assert [n.id for n in found] == ["nb-list-0001", "nb-list-0003"]
    assert await repo.list_notebooks_for_dataset(session, "user-c", "ds-notebooks-1") == []
