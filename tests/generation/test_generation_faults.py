"""Faults, against a real local HTTP server through the real openai SDK: retries, adaptive concurrency,
failures counted by reason (never empty rows), the error-rate stop, fatal errors, cancel, keys kept secret."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from backend.core.errors import CoreError, UnauthorizedError, UnavailableError
from backend.core.generation.rows import read_rows
from backend.services.generation.bodies import run_generate_inputs
from backend.services.generation.providers import KEY_SECRET
from backend.services.tasks.context import LocalContext, TaskCancelled
from tests.generation.conftest import SECRET, fake_settings, inputs_payload
from tests.generation.fake_llm import FakeLLM


def assert_nothing_lost(result: dict[str, Any], rows_path: Path) -> None:
    """Every parsed item is a written row or a counted drop; every written row has its text."""
    rows = read_rows(rows_path)
    assert len(rows) == result["rows"]
    assert result["items_parsed"] == result["rows"] + sum(result["dropped"].values())
    assert result["batches"]["sent"] == result["batches"]["succeeded"] + result["batches"]["failed"]
    assert all(row["input"].strip() and row["provenance"]["model"] == "fake-model" for row in rows)


def test_a_429_burst_is_retried_and_halves_the_concurrency(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script.extend(["429"] * 4)  # one request needs 5 in a row to fail, with 4 retries
    fake.delay = 0.05
    ctx = LocalContext(tmp_path / "task" / "1")
    result = run_generate_inputs(ctx, inputs_payload(40, concurrency=4),
                                 settings=fake_settings(fake, tmp_path, llm_max_retries=4))
    assert result["complete"] and result["rows"] == 40
    assert result["batches"]["failed"] == 0
    assert ctx.latest_metrics["throttled_responses"] == 4
    assert result["concurrency"]["cuts"] >= 1 and result["concurrency"]["lowest"] <= 2
    assert ctx.latest_metrics["http_attempts"] == result["batches"]["sent"] + 4
    assert_nothing_lost(result, ctx.work_dir / "rows.jsonl")


def test_server_errors_and_timeouts_are_retried(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script.extend(["500", "slow", "500"])
    fake.slow_seconds = 3.0
    ctx = LocalContext(tmp_path / "task" / "1")
    result = run_generate_inputs(ctx, inputs_payload(10, concurrency=1),
                                 settings=fake_settings(fake, tmp_path, llm_timeout_seconds=0.5))
    assert result["complete"] and result["batches"]["failed"] == 0
    assert ctx.latest_metrics["http_attempts"] == result["batches"]["sent"] + 3
    assert_nothing_lost(result, ctx.work_dir / "rows.jsonl")


def test_batches_that_still_fail_are_counted_by_reason_never_written_as_empty_rows(
        fake: FakeLLM, tmp_path: Path) -> None:
    fake.script.extend(["500", "bad_json", "prose", "slow"])
    fake.slow_seconds = 3.0
    ctx = LocalContext(tmp_path / "task" / "1")
    result = run_generate_inputs(ctx, inputs_payload(10, concurrency=1, max_error_rate=1.0),
                                 settings=fake_settings(fake, tmp_path, llm_max_retries=0, llm_timeout_seconds=0.5))
    assert result["batches"]["failed_by_reason"] == {"server_error": 1, "invalid_response": 1,
                                                     "malformed_output": 1, "timeout": 1}
    assert result["complete"] and result["rows"] == 10
    assert {k: v for k, v in ctx.latest_metrics.items() if k.startswith("failed_")} == {
        "failed_server_error": 1, "failed_invalid_response": 1, "failed_malformed_output": 1, "failed_timeout": 1}
    assert result["usage"]["requests"] == result["batches"]["sent"]
    assert_nothing_lost(result, ctx.work_dir / "rows.jsonl")
    assert any("failed (timeout)" in line for line in ctx.logs)


def test_too_many_failures_stop_the_task_with_the_reason(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script.extend(["ok"])
    fake.default = "500"
    ctx = LocalContext(tmp_path / "task" / "1")
    with pytest.raises(UnavailableError) as err:
        run_generate_inputs(ctx, inputs_payload(50, concurrency=1),
                            settings=fake_settings(fake, tmp_path, llm_max_retries=0))
    assert err.value.code == "generation_error_rate"
    assert "server_error" in err.value.detail and "5 rows written" in err.value.detail
    assert err.value.fields["failed"] == {"server_error": 3}
    assert len(read_rows(ctx.work_dir / "rows.jsonl")) == 5  # the good batch stays on disk
    assert ctx.latest_metrics["failed_server_error"] == 3


@pytest.mark.parametrize(("behaviour", "error", "code", "attempts"), [
    ("401", UnauthorizedError, "provider_key_rejected", 1),
    ("404", CoreError, "provider_model_not_found", 1),
    ("quota", CoreError, "provider_quota_exhausted", 4),  # the SDK retries every 429 (3 retries); we stop after
])
def test_errors_no_retry_can_fix_stop_at_once(fake: FakeLLM, tmp_path: Path, behaviour: str,
                                              error: type[CoreError], code: str, attempts: int) -> None:
    fake.default = behaviour
    ctx = LocalContext(tmp_path / "task" / "1", secrets={KEY_SECRET: SECRET})
    with pytest.raises(error) as err:
        run_generate_inputs(ctx, inputs_payload(50, concurrency=1), settings=fake_settings(fake, tmp_path))
    assert err.value.code == code
    assert len(fake.requests) == attempts  # no second batch
    assert SECRET not in str(err.value.to_dict())


def test_the_key_is_sent_to_the_provider_and_nowhere_else(fake: FakeLLM, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = LocalContext(tmp_path / "task" / "1", secrets={KEY_SECRET: SECRET})
    result = run_generate_inputs(ctx, inputs_payload(10), settings=fake_settings(fake, tmp_path))
    assert result["complete"]
    assert {r["headers"]["authorization"] for r in fake.requests} == {f"Bearer {SECRET}"}
    fake.default = "401"  # and in the error path too
    with pytest.raises(UnauthorizedError) as err:
        run_generate_inputs(LocalContext(tmp_path / "task2" / "1", secrets={KEY_SECRET: SECRET}),
                            inputs_payload(10, concurrency=1), settings=fake_settings(fake, tmp_path))
    assert caplog.records, "the SDK's debug logging ran"
    assert SECRET not in caplog.text
    assert SECRET not in str(result) and SECRET not in str(err.value.to_dict()) and SECRET not in str(ctx.logs)
    assert SECRET not in str(ctx.latest_metrics) and SECRET not in str(ctx.artifacts)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_server_key_goes_only_to_openai(fake: FakeLLM, tmp_path: Path) -> None:
    settings = fake_settings(fake, tmp_path, openai_api_key=SECRET)
    run_generate_inputs(LocalContext(tmp_path / "task" / "1"), inputs_payload(5), settings=settings)
    assert SECRET not in str([r["headers"] for r in fake.requests])


def test_cancel_stops_within_one_batch_without_waiting_for_requests_in_flight(
        fake: FakeLLM, tmp_path: Path) -> None:
    fake.script.extend(["ok"])
    fake.default = "slow"
    fake.slow_seconds = 30.0  # every request after the first hangs: cancel must not wait for them
    in_flight_when_stopped: list[int] = []

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "progress" and data["done"] >= 5:
            ctx.cancel()

    ctx = LocalContext(tmp_path / "task" / "1", on_event=on_event)
    with pytest.raises(TaskCancelled):
        try:
            run_generate_inputs(ctx, inputs_payload(200, concurrency=2),
                                settings=fake_settings(fake, tmp_path, llm_timeout_seconds=60))
        finally:
            in_flight_when_stopped.append(fake.in_flight)
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    assert len(rows) == 5  # the one batch that was answered, whole
    assert in_flight_when_stopped[0] >= 1  # it returned while a request was still hanging on the server
    assert len(fake.requests) == 2


def test_a_second_attempt_resumes_from_the_rows_already_written(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script.extend(["ok", "ok"])
    fake.default = "500"
    payload = inputs_payload(20, concurrency=1)
    settings = fake_settings(fake, tmp_path, llm_max_retries=0)
    with pytest.raises(UnavailableError):
        run_generate_inputs(LocalContext(tmp_path / "task" / "1"), payload, settings=settings)
    first = read_rows(tmp_path / "task" / "1" / "rows.jsonl")
    assert len(first) == 10
    fake.default = "ok"
    ctx = LocalContext(tmp_path / "task" / "2")
    result = run_generate_inputs(ctx, payload, settings=settings)
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    assert result["resumed_rows"] == 10 and result["rows"] == 20 and len(rows) == 20
    assert rows[:10] == first
    assert [r["n"] for r in rows] == list(range(20))
    assert min(r["provenance"]["batch"] for r in rows[10:]) > max(r["provenance"]["batch"] for r in first)
    assert len({r["input"] for r in rows}) == 20
    assert "Resuming with 10 rows from attempt 1" in ctx.detailed_status
    # another request under the same task directory does not inherit those rows
    other = run_generate_inputs(LocalContext(tmp_path / "task" / "3"), inputs_payload(5), settings=settings)
    assert other["resumed_rows"] == 0


def test_concurrency_keeps_several_requests_in_flight(fake: FakeLLM, tmp_path: Path) -> None:
    fake.delay = 0.2
    result = run_generate_inputs(LocalContext(tmp_path / "task" / "1"), inputs_payload(40, concurrency=4),
                                 settings=fake_settings(fake, tmp_path))
    assert result["complete"]
    assert fake.max_in_flight == 4
