"""Upload → analyze → preview through the real app, on the real shared datasets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from backend.api.app import create_app
from backend.settings import Settings
from tests.api.conftest import upload_and_analyze, wait_for_analysis
from tests.conftest import shared_file

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
BLANK_LINES = "llamafactory_pr5606_openai_training_data_blank_lines.jsonl"
ARRAY = "llamafactory_pr5606_oai_same10_as_json_array.json"
AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
LFS = "messy_llamafactory_alpaca_data_en_52k_git_lfs_pointer.json"
UTF16 = "messy_axolotl_pr3685_val_sample10_utf16le_bom.jsonl"


async def test_upload_answers_with_the_contract_fields(client: httpx.AsyncClient) -> None:
    path = shared_file(TOY)
    r = await client.post("/upload", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"session_id", "filename", "size", "message", "task_id"}
    assert body["filename"] == path.name
    assert body["size"] == path.stat().st_size == 27385
    assert len(body["session_id"]) >= 32  # unguessable: 192 random bits, url-safe


async def test_analysis_of_the_cookbook_toy_file_gives_the_cookbook_figures(client: httpx.AsyncClient) -> None:
    _, r = await upload_and_analyze(client, shared_file(TOY))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total_examples"] == 5
    # The cookbook's per-example totals 45, 111, 26, 28, 8032 (its token formula, cl100k_base).
    assert body["total_tokens"] == 45 + 111 + 26 + 28 + 8032
    assert body["avg_tokens_per_example"] == pytest.approx(1648.4)
    assert 0 <= body["quality_score"] <= 100
    assert isinstance(body["quality_issues"], list)
    report = body["report"]
    assert report["tokenizer"]["name"] == "cl100k_base" and report["tokenizer"]["exact"] is True
    assert report["openai"]["missing_system"] == 1 and report["openai"]["missing_user"] == 1
    assert report["truncation"]["examples_over"] == 1  # line 5, 8,032 tokens > 2,048


async def test_blank_line_jsonl_and_json_array_give_identical_statistics(client: httpx.AsyncClient) -> None:
    _, a = await upload_and_analyze(client, shared_file(BLANK_LINES))
    _, b = await upload_and_analyze(client, shared_file(ARRAY))
    ra, rb = a.json()["report"], b.json()["report"]
    for key in ("total_examples", "total_tokens", "distributions", "roles", "tokens_by_role", "duplicates",
                "quality", "truncation"):
        assert ra[key] == rb[key], key
    assert ra["total_examples"] == 10
    assert ra["roles"] == {"system": 10, "user": 10, "assistant": 10}


async def test_utf16_file_reads_as_ten_records(client: httpx.AsyncClient) -> None:
    _, r = await upload_and_analyze(client, shared_file(UTF16))
    assert r.status_code == 200, r.text
    report = r.json()["report"]
    assert r.json()["total_examples"] == 10
    assert report["file"]["encoding"].startswith("utf-16")


async def test_git_lfs_pointer_is_refused_with_one_clear_message(client: httpx.AsyncClient) -> None:
    _, r = await upload_and_analyze(client, shared_file(LFS))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "not_a_dataset"
    assert "LFS" in body["detail"]


async def test_preview_pages_through_examples_in_file_order(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(BLANK_LINES))
    r = await client.get(f"/preview/{sid}", params={"page": 2, "page_size": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["total_count"] == 10 and body["page"] == 2 and body["page_size"] == 3
    assert [e["index"] for e in body["examples"]] == [3, 4, 5]
    first = body["examples"][0]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert first["token_count"] > 0
    # Line numbers are real: records sit on every other line of this blank-line file.
    assert [e["line"] for e in body["examples"]] == [7, 9, 11]
    beyond = await client.get(f"/preview/{sid}", params={"page": 9, "page_size": 3})
    assert beyond.status_code == 200 and beyond.json()["examples"] == []


async def test_distribution_has_the_contract_fields(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(BLANK_LINES))
    body = (await client.get(f"/preview/{sid}/distribution")).json()
    assert body["roles"] == {"system": 10, "user": 10, "assistant": 10}
    assert body["has_system_prompts"] is True
    assert body["multi_turn_percentage"] == 0
    assert sum(body["token_distribution"].values()) == 10
    assert set(body["token_distribution"]) == {"0-100", "100-500", "500-1000", "1000+"}
    assert body["avg_message_length"] > 0


async def test_duplicates_of_the_axolotl_file(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(AXOLOTL))
    body = (await client.get(f"/preview/{sid}/duplicates")).json()
    assert body["count"] == 940
    assert body["exact"]["groups_count"] == 60
    assert len(body["examples"]) <= 940 and all(isinstance(i, int) for i in body["examples"])


async def test_unknown_session_is_404_with_a_stable_code(client: httpx.AsyncClient) -> None:
    for url in ("/analyze/nope-nope-nope", "/preview/nope-nope-nope", "/preview/x/distribution"):
        r = await client.get(url)
        assert r.status_code == 404, url
        assert r.json()["error"] == "session_not_found"


@pytest.mark.parametrize("files,data,code", [
    ({"notes": ("notes.txt", b"the file went into the wrong field")}, None, "missing_file"),
    ({"file": ("empty.jsonl", b"")}, None, "empty_file"),
])
async def test_bad_upload_requests_are_4xx(client: httpx.AsyncClient, files: object, data: object,
                                          code: str) -> None:
    r = await client.post("/upload", files=files, data=data)  # type: ignore[arg-type]
    assert r.status_code == 422
    assert r.json()["error"] == code


async def test_upload_that_is_not_multipart_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/upload", content=b'{"messages": []}', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "not_multipart"


async def test_upload_over_the_limit_is_413_and_leaves_nothing(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "d", max_upload_bytes=1000,  # type: ignore[call-arg]
                        analysis_workers=1)
    from backend.db.engine import upgrade_database

    settings.data_dir.mkdir(parents=True)
    await asyncio.to_thread(upgrade_database, settings.resolved_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/upload", files={"file": ("big.jsonl", b"x" * 5000)})
        assert r.status_code == 413
        assert r.json()["error"] == "payload_too_large"
    assert list(settings.uploads_dir.iterdir()) == []


async def test_an_owned_upload_is_invisible_to_others(client: httpx.AsyncClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    alice, bob = auth_headers("alice-id", "alice@example.com"), auth_headers("bob-id")
    sid, r = await upload_and_analyze(client, shared_file(ARRAY), headers=alice)
    assert r.status_code == 200
    assert (await client.get(f"/analyze/{sid}", headers=bob)).status_code == 404
    assert (await client.get(f"/analyze/{sid}")).status_code == 404
    assert (await client.get(f"/preview/{sid}", headers=bob)).status_code == 404


async def test_an_invalid_token_is_401_not_anonymous(client: httpx.AsyncClient) -> None:
    r = await client.post("/upload", files={"file": ("a.jsonl", b"{}")},
                          headers={"Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 401
    assert r.json()["error"]


async def test_reanalysis_with_another_max_seq_length(client: httpx.AsyncClient) -> None:
    sid, first = await upload_and_analyze(client, shared_file(TOY))
    assert first.json()["report"]["truncation"]["examples_over"] == 1
    r = await client.post(f"/analyze/{sid}", json={"max_seq_length": 100})
    assert r.status_code == 202
    second = await wait_for_analysis(client, sid)
    trunc = second.json()["report"]["truncation"]
    assert trunc["max_seq_length"] == 100
    assert trunc["examples_over"] == 2  # 111 and 8,032 tokens are over 100


async def test_an_unknown_tokenizer_is_refused_before_upload(client: httpx.AsyncClient) -> None:
    r = await client.post("/upload", params={"tokenizer": "no-such-tokenizer"},
                          files={"file": ("a.jsonl", b'{"messages": []}\n')})
    assert r.status_code == 422


async def test_a_restart_loses_nothing(settings: Settings) -> None:
    from backend.db.engine import upgrade_database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade_database, settings.resolved_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60) as c:
        sid, before = await upload_and_analyze(c, shared_file(BLANK_LINES))
    app2 = create_app(settings)
    async with app2.router.lifespan_context(app2), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app2), base_url="http://t", timeout=60) as c:
        after = await c.get(f"/analyze/{sid}")
        assert after.status_code == 200
        assert after.json() == before.json()
        page = await c.get(f"/preview/{sid}")
        assert page.json()["total_count"] == 10


async def test_root_serves_json_to_api_clients(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers={"accept": "application/json"})
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert (await client.get("/health")).json() == {"status": "ok"}


async def test_expired_anonymous_uploads_are_410_then_purged(client: httpx.AsyncClient,
                                                             settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    from backend.db import repository
    from backend.services.cleanup import purge_expired

    sid, r = await upload_and_analyze(client, shared_file(BLANK_LINES))
    assert r.status_code == 200
    state = client._transport.app.state.slmgen  # type: ignore[attr-defined]
    async with state.session() as session:  # as if ANONYMOUS_TTL_HOURS had passed
        await repository.update_dataset(session, sid, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    gone = await client.get(f"/analyze/{sid}")
    assert gone.status_code == 410 and gone.json()["error"] == "expired"
    purged = await purge_expired(state)
    assert purged.datasets == 1
    assert not (settings.uploads_dir / sid).exists()
    assert (await client.get(f"/analyze/{sid}")).status_code == 404


async def test_a_gzip_bomb_stops_at_the_decompression_limit(client: httpx.AsyncClient, settings: Settings) -> None:
    import gzip

    settings.max_decompressed_bytes = 1_000_000
    line = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
    bomb = gzip.compress(line * 100_000)  # ~9 MB of JSONL in ~30 KB
    assert len(bomb) < 100_000
    _, r = await upload_and_analyze(client, bomb, "small.jsonl.gz")
    assert r.status_code == 413
    assert r.json()["error"] == "decompressed_too_large"
    assert "1,000,000" in r.json()["detail"]


async def test_two_analyses_started_at_once_leave_one_current_and_the_running_store_alone(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    """Two POST /analyze that both passed the 'already running?' check: one becomes the dataset's analysis, the
    other is refused (409), and the store of the analysis already running is never touched."""
    import asyncio

    from backend.core.errors import ConflictError
    from backend.services import datasets
    from tests.conftest import generated_chat_file

    state = client._transport.app.state.slmgen  # type: ignore[attr-defined]
    path = generated_chat_file(tmp_path, 20_000)
    up = (await client.post("/upload", files={"file": (path.name, path.read_bytes())})).json()
    first_store = state.settings.data_dir / "tasks" / up["task_id"] / "1"
    first_store.mkdir(parents=True, exist_ok=True)
    marker = first_store / "still-here"
    marker.write_bytes(b"")
    stale = await datasets.get_dataset_for(state, up["session_id"], None)  # both requests read this row
    options = datasets.analysis_options(state)
    outcomes = await asyncio.gather(*(datasets.start_analysis(state, stale, options, None, f"addr:client-{n}")
                                      for n in range(2)), return_exceptions=True)
    started = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert refused[0].code == "analysis_running"
    assert marker.exists()
    done = await wait_for_analysis(client, up["session_id"])
    assert done.status_code == 200, done.text
    assert done.json()["total_examples"] == 20_000
    current = await datasets.get_dataset_for(state, up["session_id"], None)
    assert current.analysis_task_id == started[0].id
    assert current.store_name == f"tasks/{started[0].id}/1"
    for _ in range(600):  # the first analysis runs to its end on its own store, and knows it was superseded
        first = (await client.get(f"/tasks/{up['task_id']}")).json()
        if first["state"] == "DONE":
            break
        await asyncio.sleep(0.05)
    assert first["state"] == "DONE" and first["result"]["superseded"] is True, first


async def test_a_poll_that_read_the_row_just_before_the_analysis_finished_gets_the_report(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The row was read without a report, and the worker committed the report (and DONE) during that read."""
    from backend.db import repository
    from backend.db.models import Dataset

    sid, done = await upload_and_analyze(client, shared_file(TOY))
    assert done.status_code == 200
    real_get = repository.get_dataset
    reads = [0]

    async def stale_first_read(session: object, dataset_id: str) -> Dataset | None:
        row = await real_get(session, dataset_id)  # type: ignore[arg-type]
        reads[0] += 1
        if row is None or reads[0] > 1:
            return row
        stale = Dataset(**{c.key: getattr(row, c.key) for c in Dataset.__table__.columns})
        stale.report = None
        return stale

    monkeypatch.setattr(repository, "get_dataset", stale_first_read)
    r = await client.get(f"/analyze/{sid}")
    assert r.status_code == 200, r.text
    assert r.json()["total_examples"] == 5 and reads[0] == 2


async def test_get_analyze_names_the_file_while_running_and_when_ready(client: httpx.AsyncClient) -> None:
    # The page's heading after a reload comes from here, not from the browser's storage.
    up = await client.post("/upload", files={"file": ("my data ✓.jsonl", shared_file(TOY).read_bytes())})
    sid = up.json()["session_id"]
    first = await client.get(f"/analyze/{sid}")
    done = await wait_for_analysis(client, sid)
    assert done.status_code == 200 and done.json()["filename"] == "my data ✓.jsonl"
    if first.status_code == 202:  # the worker may already be done: then only the 200 can be checked here
        assert first.json()["filename"] == "my data ✓.jsonl"
    again = await client.post(f"/analyze/{sid}", json={"max_seq_length": 100})
    assert again.status_code == 202
    running = await client.get(f"/analyze/{sid}")
    assert running.json()["filename"] == "my data ✓.jsonl"
