"""The jobs API end to end: the real app, real uploads and analyses, real tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import repository as repo
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.models import Dataset
from backend.services import storage
from backend.settings import Settings
from tests.api.conftest import upload_and_analyze
from tests.conftest import shared_file
from tests.support.postgres import create_database, drop_database

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
Headers = Callable[..., dict[str, str]]


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def settings(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """The shared app settings, on a fresh SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield settings
        return
    url = create_database("slmgen_jobs_api")
    settings.database_url = url
    yield settings
    drop_database(url)


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the app's own database, to arrange rows and to check what the API left behind."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
            await session.commit()
    finally:
        await engine.dispose()


async def add_anonymous_datasets(settings: Settings, *dataset_ids: str) -> None:
    """Anonymous dataset rows for the toy file, as an upload would record them (no analysis needed here)."""
    data = shared_file(TOY).read_bytes()
    async with database(settings) as session:
        for dataset_id in dataset_ids:
            await repo.add_dataset(
                session,
                Dataset(
                    id=dataset_id,
                    owner_id=None,
                    filename=TOY,
                    stored_name="upload.jsonl",
                    size_bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    expires_at=datetime.now(UTC) + timedelta(hours=1),
                ),
            )


async def test_every_route_needs_a_valid_token(client: httpx.AsyncClient, settings: Settings) -> None:
    routes = [
        ("GET", "/jobs"),
        ("POST", "/jobs"),
        ("GET", "/jobs/abc"),
        ("PATCH", "/jobs/abc"),
        ("DELETE", "/jobs/abc"),
    ]
    for method, path in routes:
        r = await client.request(method, path, json={} if method in ("POST", "PATCH") else None)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"] == "not_authenticated" and r.headers["www-authenticate"] == "Bearer"
    from backend.auth import mint_dev_token

    wrong_secret = mint_dev_token(
        "not-the-project-secret-but-long-enough-0123456789", settings.supabase_url, "user-a"
    )
    expired = mint_dev_token(settings.supabase_jwt_secret, settings.supabase_url, "user-a", ttl=-3600)
    other_project = mint_dev_token(settings.supabase_jwt_secret, "https://other.supabase.co", "user-a")
    for token, reason in [
        ("garbage", "malformed"),
        (wrong_secret, "signature"),
        (expired, "expired"),
        (other_project, "not issued by"),
        (f"{expired}x", "signature"),
    ]:
        r = await client.get("/jobs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and reason in r.json()["detail"], r.text
    r = await client.get("/jobs", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_authorization_header"


async def test_signed_in_upload_records_a_job_with_the_real_statistics(
    client: httpx.AsyncClient, auth_headers: Headers
) -> None:
    alice = auth_headers("user-alice", "alice@example.org")
    session_id, analysis = await upload_and_analyze(client, shared_file(TOY), headers=alice)
    assert analysis.status_code == 200, analysis.text
    r = await client.get("/jobs", headers=alice)
    assert r.status_code == 200 and r.headers["x-total-count"] == "1"
    (job,) = r.json()
    assert (job["session_id"], job["dataset_filename"], job["status"]) == (session_id, TOY, "analyzed")
    assert job["dataset_stats"]["total_examples"] == 5
    assert job["dataset_stats"]["total_examples"] == analysis.json()["total_examples"]
    assert job["dataset_stats"]["total_tokens"] == analysis.json()["total_tokens"]

    # POST /jobs for a session that already has a job returns that job (200), not a second one.
    r = await client.post("/jobs", json={"session_id": session_id}, headers=alice)
    assert r.status_code == 200 and r.json()["id"] == job["id"]
    assert (await client.get("/jobs", headers=alice)).headers["x-total-count"] == "1"

    # Bob sees none of it.
    bob = auth_headers("user-bob")
    assert (await client.get("/jobs", headers=bob)).json() == []
    for method in ("GET", "PATCH", "DELETE"):
        r = await client.request(
            method,
            f"/jobs/{job['id']}",
            headers=bob,
            json={"status": "failed"} if method == "PATCH" else None,
        )
        assert r.status_code == 404 and r.json()["error"] == "job_not_found", (method, r.text)
    r = await client.post("/jobs", json={"session_id": session_id}, headers=bob)
    assert r.status_code == 404 and r.json()["error"] == "session_not_found"
    assert (await client.get(f"/jobs/{job['id']}", headers=alice)).json()["status"] == "analyzed"


async def test_post_jobs_for_an_anonymous_upload_fills_in_from_its_analysis(
    client: httpx.AsyncClient, auth_headers: Headers
) -> None:
    session_id, analysis = await upload_and_analyze(client, shared_file(TOY))  # uploaded before signing in
    assert analysis.status_code == 200
    alice = auth_headers("user-alice")
    r = await client.post("/jobs", json={"session_id": session_id}, headers=alice)
    assert r.status_code == 201, r.text
    job = r.json()
    assert (job["status"], job["dataset_filename"], job["notebook_id"]) == ("analyzed", TOY, None)
    assert job["dataset_stats"]["total_examples"] == 5
    assert job["created_at"].endswith("Z") or job["created_at"].endswith("+00:00")
    r = await client.post(
        "/jobs", json={"session_id": session_id, "dataset_filename": "renamed.jsonl"}, headers=alice
    )
    assert (
        r.status_code == 200
        and r.json()["id"] == job["id"]
        and r.json()["dataset_filename"] == "renamed.jsonl"
    )


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"session_id": "no-such-session-0001"}, 404, "session_not_found"),
        ({}, 422, "invalid_input"),
        ({"session_id": ""}, 422, "invalid_input"),
        ({"session_id": "x" * 65}, 422, "invalid_input"),
        ({"session_id": "abc", "owner_id": "someone"}, 422, "invalid_input"),
    ],
)
async def test_post_jobs_refuses_bad_requests(
    client: httpx.AsyncClient, auth_headers: Headers, body: dict[str, str], status: int, error: str
) -> None:
    r = await client.post("/jobs", json=body, headers=auth_headers("user-alice"))
    assert (r.status_code, r.json()["error"]) == (status, error), r.text


async def test_patch_updates_only_what_was_sent(
    client: httpx.AsyncClient, auth_headers: Headers, settings: Settings
) -> None:
    await add_anonymous_datasets(settings, "anon-dataset-patch-01")
    alice = auth_headers("user-alice")
    job = (await client.post("/jobs", json={"session_id": "anon-dataset-patch-01"}, headers=alice)).json()
    assert job["status"] == "created"
    changes = {
        "task_type": "instruction_following",
        "deployment_target": "cloud",
        "model_id": "qwen2.5-0.5b",
        "model_score": 0.87,
        "training_config": {"lora_rank": 16, "learning_rate": 0.0002, "num_epochs": 3},
        "colab_url": "https://colab.research.google.com/gist/someone/abc123",
        "status": "generated",
    }
    r = await client.patch(f"/jobs/{job['id']}", json=changes, headers=alice)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in changes} == changes
    assert r.json()["updated_at"] >= job["updated_at"] and r.json()["created_at"] == job["created_at"]
    r = await client.patch(f"/jobs/{job['id']}", json={"model_score": None}, headers=alice)
    got = (await client.get(f"/jobs/{job['id']}", headers=alice)).json()
    assert got["model_score"] is None and got["model_id"] == "qwen2.5-0.5b" and got["status"] == "generated"

    for bad in [
        {"status": "completed"},
        {"status": None},
        {"colab_url": "javascript:alert(1)"},
        {"notebook_id": "someone-elses-notebook"},
        {"session_id": "another"},
        {"model_score": "high"},
        {"task_type": "t" * 41},
    ]:
        r = await client.patch(f"/jobs/{job['id']}", json=bad, headers=alice)
        assert r.status_code == 422 and r.json()["error"] == "invalid_input", (bad, r.text)


async def test_list_is_paged_newest_first_with_headers(
    client: httpx.AsyncClient, auth_headers: Headers, settings: Settings
) -> None:
    alice = auth_headers("user-alice")
    ids = []
    await add_anonymous_datasets(settings, *(f"anon-dataset-page-{n:02d}" for n in range(23)))
    for n in range(23):
        r = await client.post("/jobs", json={"session_id": f"anon-dataset-page-{n:02d}"}, headers=alice)
        assert r.status_code == 201
        ids.append(r.json()["id"])
    newest_first = ids[::-1]

    r = await client.get("/jobs", headers=alice)
    assert [j["id"] for j in r.json()] == newest_first[:20]  # default page size 20
    r = await client.get("/jobs", params={"limit": 10, "offset": 10}, headers=alice)
    assert [j["id"] for j in r.json()] == newest_first[10:20]
    assert r.headers["x-total-count"] == "23"
    links = {
        part.split('rel="')[1].rstrip('"'): part.split(">")[0].lstrip("<")
        for part in r.headers["link"].split(", ")
    }
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["next"].endswith("/jobs?limit=10&offset=20") and links["last"].endswith("offset=20")
    assert links["prev"].endswith("offset=0")
    r = await client.get(links["next"], headers=alice)
    assert [j["id"] for j in r.json()] == newest_first[20:] and "next" not in r.headers["link"]
    r = await client.get("/jobs", params={"offset": 100}, headers=alice)
    assert r.json() == [] and r.headers["x-total-count"] == "23"
    for params in ({"limit": 101}, {"limit": 0}, {"offset": -1}):
        assert (await client.get("/jobs", params=params, headers=alice)).status_code == 422


async def generate(client: httpx.AsyncClient, session_id: str, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.post(
        "/generate", json={"session_id": session_id, "model_id": "smollm2-135m-instruct"}, headers=headers
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def notebook_files(settings: Settings, owner_id: str, session_id: str) -> list[Path]:
    async with database(settings) as session:
        notebooks = await repo.list_notebooks_for_dataset(session, owner_id, session_id)
    return [storage.notebook_path(settings, n.stored_name) for n in notebooks]


async def test_delete_removes_the_notebooks_and_an_unshared_dataset(
    client: httpx.AsyncClient, auth_headers: Headers, settings: Settings
) -> None:
    alice = auth_headers("user-alice")
    session_id, analysis = await upload_and_analyze(client, shared_file(TOY), headers=alice)
    assert analysis.status_code == 200
    upload = storage.upload_path(settings, session_id, "upload.jsonl")
    assert upload.read_bytes() == shared_file(TOY).read_bytes()
    # Generated twice: the job points at the second notebook, and the first must not be left behind.
    first, second = await generate(client, session_id, alice), await generate(client, session_id, alice)
    (job,) = (await client.get("/jobs", headers=alice)).json()
    assert (job["status"], job["model_id"]) == ("generated", "smollm2-135m-instruct")
    files = await notebook_files(settings, "user-alice", session_id)
    assert [f.stat().st_size for f in files] == [first["size_bytes"], second["size_bytes"]]
    async with database(settings) as session:
        linked = await repo.get_notebook(session, job["notebook_id"])
        assert linked is not None and storage.notebook_path(settings, linked.stored_name) == files[1]

    r = await client.delete(f"/jobs/{job['id']}", headers=alice)
    assert r.status_code == 204 and r.content == b""
    assert (await client.get(f"/jobs/{job['id']}", headers=alice)).status_code == 404
    assert not any(f.exists() for f in files) and not upload.exists()
    assert not storage.dataset_dir(settings, session_id).exists()
    async with database(settings) as session:
        assert await repo.list_notebooks_for_dataset(session, "user-alice", session_id) == []
        assert await repo.get_notebook(session, job["notebook_id"]) is None
        assert await repo.get_dataset(session, session_id) is None
    for g in (first, second):
        assert (await client.get(g["download_url"], headers=alice)).status_code == 404
    assert (await client.get(f"/analyze/{session_id}", headers=alice)).status_code == 404
    assert (await client.delete(f"/jobs/{job['id']}", headers=alice)).status_code == 404


async def test_delete_keeps_a_dataset_another_job_still_uses(
    client: httpx.AsyncClient, auth_headers: Headers, settings: Settings
) -> None:
    session_id, analysis = await upload_and_analyze(client, shared_file(TOY))  # anonymous upload
    assert analysis.status_code == 200
    alice, bob = auth_headers("user-alice"), auth_headers("user-bob")
    alice_job = (await client.post("/jobs", json={"session_id": session_id}, headers=alice)).json()
    bob_job = (await client.post("/jobs", json={"session_id": session_id}, headers=bob)).json()
    upload = storage.upload_path(settings, session_id, "upload.jsonl")

    await generate(client, session_id, alice)
    bob_notebook = await generate(client, session_id, bob)
    (alice_file,) = await notebook_files(settings, "user-alice", session_id)
    (bob_file,) = await notebook_files(settings, "user-bob", session_id)

    assert (await client.delete(f"/jobs/{alice_job['id']}", headers=alice)).status_code == 204
    assert upload.exists() and (await client.get(f"/analyze/{session_id}")).status_code == 200
    assert (await client.get(f"/jobs/{bob_job['id']}", headers=bob)).json()["status"] == "generated"
    assert not alice_file.exists() and bob_file.exists()
    assert (await client.get(bob_notebook["download_url"], headers=bob)).status_code == 200

    assert (await client.delete(f"/jobs/{bob_job['id']}", headers=bob)).status_code == 204
    assert not upload.exists() and (await client.get(f"/analyze/{session_id}")).status_code == 404
    assert not bob_file.exists()
