"""Configured limits, small on purpose: each is enforced with a clear error, or reported in the report.

Upload and generate rates -> 429 with Retry-After; analyses per client -> 429; analyses in total -> 503 with
Retry-After; upload size -> 413; line length and record count -> unusable records in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.settings import Settings
from tests.api.conftest import upload_and_analyze, wait_for_analysis
from tests.reliability import hostile
from tests.reliability.conftest import assert_error_body, make_settings, running_client

Headers = Callable[..., dict[str, str]]
GOOD_FILE = (hostile.GOOD_LINE + "\n").encode() * 3


def upload_dirs(settings: Settings) -> list[Path]:
    return sorted(settings.uploads_dir.iterdir()) if settings.uploads_dir.exists() else []


async def upload(client: httpx.AsyncClient, data: bytes = GOOD_FILE,
                 headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post("/upload", files={"file": ("data.jsonl", data)}, headers=headers or {})


def assert_retry_later(r: httpx.Response, status: int, code: str, max_seconds: int = 60) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = assert_error_body(r)
    assert body["error"] == code
    retry_after = int(r.headers["retry-after"])
    assert 1 <= retry_after <= max_seconds
    assert body["retry_after"] == retry_after
    return body


async def settle(client: httpx.AsyncClient, *uploads: tuple[httpx.Response, dict[str, str] | None]) -> None:
    """Wait until these uploads' analyses end: an app closed mid-analysis would leave its thread waiting."""
    for response, headers in uploads:
        final = await wait_for_analysis(client, response.json()["session_id"], headers)
        assert final.status_code == 200, final.text


async def release_workers(client: httpx.AsyncClient) -> None:
    """Start the workers of an app that was started without them: its queued analyses run now."""
    state = client._transport.app.state.slmgen  # type: ignore[attr-defined]
    state.settings.embedded_workers = True
    await state.start_workers()


async def test_upload_rate_limit_is_429_with_retry_after_per_client(tmp_path: Path,
                                                                    auth_headers: Headers) -> None:
    settings = make_settings(tmp_path / "data", upload_rate_per_minute=2)
    async with running_client(settings) as client:
        accepted = [await upload(client), await upload(client)]
        assert [r.status_code for r in accepted] == [200, 200]
        body = assert_retry_later(await upload(client), 429, "rate_limited")
        assert "at most 2 per 60 seconds" in body["detail"]
        # Another client (a signed-in user) has its own allowance.
        carol = auth_headers("user-carol")
        other = await upload(client, headers=carol)
        assert other.status_code == 200
        await settle(client, (accepted[0], None), (accepted[1], None), (other, carol))
    assert len(upload_dirs(settings)) == 3  # the refused upload left nothing behind


async def test_generate_rate_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", generate_rate_per_minute=1)
    async with running_client(settings) as client:
        session_id, analysed = await upload_and_analyze(client, GOOD_FILE)
        assert analysed.status_code == 200
        body = {"session_id": session_id, "model_id": "smollm2-135m-instruct"}
        assert (await client.post("/generate", json=body)).status_code == 200
        refused = assert_retry_later(await client.post("/generate", json=body), 429, "rate_limited")
        assert "notebook generation" in refused["detail"]
    assert len(list(settings.notebooks_dir.glob("*.ipynb"))) == 1


async def test_concurrent_analyses_per_client_are_limited_with_429(tmp_path: Path, auth_headers: Headers) -> None:
    # No workers at first: admitted analyses stay queued, so "waiting or running" is certain.
    settings = make_settings(tmp_path / "data", max_analyses_per_client=1, embedded_workers=False)
    async with running_client(settings) as client:
        first = await upload(client)
        assert first.status_code == 200
        body = assert_retry_later(await upload(client), 429, "rate_limited")
        assert "limit is 1" in body["detail"]
        reanalyze = await client.post(f"/analyze/{first.json()['session_id']}", json={})
        assert reanalyze.status_code == 409 and reanalyze.json()["error"] == "analysis_running"
        dave = auth_headers("user-dave")
        other = await upload(client, headers=dave)
        assert other.status_code == 200
        await release_workers(client)
        done = await wait_for_analysis(client, first.json()["session_id"])
        assert done.status_code == 200, done.text
        again = await upload(client)
        assert again.status_code == 200  # a finished analysis frees the client's slot
        await settle(client, (other, dave), (again, None))
    assert len(upload_dirs(settings)) == 3


async def test_analyses_in_total_are_limited_with_503_and_retry_after(tmp_path: Path, auth_headers: Headers) -> None:
    settings = make_settings(tmp_path / "data", max_queued_analyses=2, embedded_workers=False)
    async with running_client(settings) as client:
        erin = auth_headers("user-erin")
        accepted = [await upload(client), await upload(client, headers=erin)]
        assert [r.status_code for r in accepted] == [200, 200]
        assert_retry_later(await upload(client, headers=auth_headers("user-frank")), 503, "analysis_queue_full")
        await release_workers(client)
        await settle(client, (accepted[0], None), (accepted[1], erin))
    assert len(upload_dirs(settings)) == 2


def exactly(size: int) -> bytes:
    """A valid JSONL file of exactly `size` bytes (the last record padded with spaces, which JSON allows)."""
    data = GOOD_FILE[:-1]
    return data + b" " * (size - len(data) - 1) + b"\n"


async def test_upload_size_limit_is_413_and_the_limit_itself_is_accepted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", max_upload_bytes=10_000)
    async with running_client(settings) as client:
        too_big = await upload(client, exactly(10_001))
        assert too_big.status_code == 413
        body = assert_error_body(too_big)
        assert body["error"] == "payload_too_large" and "10,000" in body["detail"]
        assert upload_dirs(settings) == []
        at_limit = await upload(client, exactly(10_000))
        assert at_limit.status_code == 200 and at_limit.json()["size"] == 10_000
        analysed = await wait_for_analysis(client, at_limit.json()["session_id"])
        assert analysed.json()["total_examples"] == 3
        # A body far over the limit is cut off as it streams in, not read to the end first.
        huge = await upload(client, b"x" * 5_000_000)
        assert huge.status_code == 413
    assert len(upload_dirs(settings)) == 1


async def test_line_length_and_record_count_limits_are_in_the_report(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", max_line_bytes=2000, max_records=50)
    long_record = {"messages": [{"role": "user", "content": "z" * 5000},
                                {"role": "assistant", "content": "ok"}]}
    lines = [hostile.GOOD_LINE] * 60
    lines[2] = hostile.dumps(long_record)
    async with running_client(settings) as client:
        _, analysed = await upload_and_analyze(client, ("\n".join(lines) + "\n").encode())
    assert analysed.status_code == 200, analysed.text
    body = analysed.json()
    report = body["report"]
    assert [(u["line"], u["code"]) for u in report["unusable"]] == [(3, "line_too_long")]
    assert "2,000" in report["unusable"][0]["message"]
    # the record limit is where reading stopped, not a record: the file is reported as read only partly
    assert report["read_stopped"]["line"] == 51 and report["read_stopped"]["code"] == "too_many_records"
    assert "50" in report["read_stopped"]["message"] and report["records_total_is_lower_bound"] is True
    assert (report["records_total"], body["total_examples"], report["records_unusable"]) == (50, 49, 1)
    assert body["format_valid"] is False
    unusable_issue = next(i for i in report["issues"] if i["code"] == "unusable_record")
    assert unusable_issue["count"] == 1 and unusable_issue["title"] in body["quality_issues"]
    partly = next(i for i in report["issues"] if i["code"] == "read_partly")
    assert partly["severity"] == "error" and partly["title"] in body["quality_issues"]


@pytest.mark.parametrize("variable,value,field,expected", [
    ("MAX_UPLOAD_BYTES", "12345", "max_upload_bytes", 12345),
    ("MAX_LINE_BYTES", "4096", "max_line_bytes", 4096),
    ("MAX_RECORDS", "77", "max_records", 77),
    ("MAX_ANALYSES_PER_CLIENT", "2", "max_analyses_per_client", 2),
    ("MAX_TASKS_PER_CLIENT", "3", "max_tasks_per_client", 3),
    ("TASK_LEASE_SECONDS", "4.5", "task_lease_seconds", 4.5),
    ("WORKER_KINDS", '["training"]', "worker_kinds", ["training"]),
    ("MAX_QUEUED_ANALYSES", "9", "max_queued_analyses", 9),
    ("UPLOAD_RATE_PER_MINUTE", "5", "upload_rate_per_minute", 5),
    ("GENERATE_RATE_PER_MINUTE", "6", "generate_rate_per_minute", 6),
    ("DOWNLOAD_LINK_TTL_HOURS", "0.5", "download_link_ttl_hours", 0.5),
    ("CORS_ORIGINS", '["https://app.example.org"]', "cors_origins", ["https://app.example.org"]),
])
def test_every_limit_is_configurable_from_the_environment(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                          value: str, field: str, expected: object) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(Settings(_env_file=None), field) == expected
