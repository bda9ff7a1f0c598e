"""The task engine through its routes, with real workers: each state, cancel (queued, at a checkpoint, by force),
errors, events (SSE, Last-Event-ID, the stream limit), /track, owner scoping, capacity, secrets at rest."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from backend.auth import User
from backend.db import tasks as task_repo
from backend.db.models import Task
from backend.services.tasks import engine
from backend.services.tasks.kinds import queues_for
from backend.settings import Settings
from tests.reliability.conftest import assert_error_body, running_client
from tests.tasks.conftest import app_state, engine_settings, is_alive, wait_for, worker_pid

Headers = Callable[..., dict[str, str]]


def user(user_id: str) -> User:
    return User(id=user_id, email=None, role="authenticated")


async def submit(client: httpx.AsyncClient, kind: str, payload: dict[str, Any], *, owner: str | None = None,
                 secrets: dict[str, str] | None = None) -> str:
    task = await engine.submit(app_state(client), kind, user(owner) if owner else None, f"user:{owner}",
                               payload, secrets=secrets)
    return task.id


async def task_row(client: httpx.AsyncClient, task_id: str) -> Task:
    async with app_state(client).session() as session:
        row = await session.run_sync(task_repo.get_task, task_id)
    assert row is not None
    return row


async def test_a_task_goes_queued_running_done_with_progress_metrics_and_events(
        client: httpx.AsyncClient, auth_headers: Headers) -> None:
    alice = auth_headers("user-alice")
    task_id = await submit(client, "test_steps", {"steps": 4, "seconds": 0.2}, owner="user-alice")
    queued = (await client.get(f"/tasks/{task_id}", headers=alice)).json()
    assert queued["state"] in ("QUEUED", "RUNNING") and queued["kind"] == "test_steps"
    running = await wait_for(client, task_id, ("RUNNING",), alice, until=lambda t: t["progress"]["done"] >= 1)
    assert running["progress"]["total"] == 4 and 0 < running["progress"]["fraction"] < 1
    done = await wait_for(client, task_id, headers=alice)
    assert done["state"] == "DONE", done
    assert done["result"] == {"steps": 4, "had_secret": False, "secret_matches": False}
    assert done["progress"] == {"done": 4.0, "total": 4.0, "fraction": 1.0, "eta_seconds": None}
    assert done["detailed_status"] == ["Queued", "Stepping 4 times"]
    assert done["metrics"] == {"step": 4, "loss": 0.25}
    assert done["started_at"] and done["finished_at"] and done["error"] is None
    history = (await client.get(f"/tasks/{task_id}/metrics", headers=alice)).json()["history"]
    assert [point["step"] for point in history] == [1, 2, 3, 4]
    assert [point["loss"] for point in history] == [1.0, 0.5, 0.3333, 0.25]
    track = (await client.get(f"/track/{task_id}", headers=alice)).json()
    assert set(track) == {"response"} and track["response"] == done


async def test_a_body_error_ends_the_task_error_with_its_code_and_an_internal_one_says_nothing_internal(
        client: httpx.AsyncClient) -> None:
    refused = await wait_for(client, await submit(client, "test_failing", {"how": "refuse"}))
    assert refused["state"] == "ERROR"
    assert refused["error"] == {"code": "impossible", "message": "The payload asks for something impossible; "
                                                                "change it."}
    crashed = await wait_for(client, await submit(client, "test_failing", {"how": "crash"}))
    assert crashed["state"] == "ERROR" and crashed["error"]["code"] == "internal_error"
    assert "/secret/place" not in json.dumps(crashed) and "Traceback" not in json.dumps(crashed)


async def test_cancelling_a_queued_task_is_immediate_and_a_worker_never_runs_it(tmp_path: Any) -> None:
    settings = engine_settings(tmp_path / "data", embedded_workers=False)
    async with running_client(settings) as client:
        task_id = await submit(client, "test_steps", {"steps": 1})
        r = await client.delete(f"/tasks/{task_id}")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "CANCELLED" and r.json()["result"] == {"stopped": "before it started"}
        # Its message is still on the queue: a worker that starts now drops it.
        state = app_state(client)
        state.settings.embedded_workers = True
        await state.start_workers()
        after = await submit(client, "test_steps", {"steps": 1})
        assert (await wait_for(client, after))["state"] == "DONE"
        assert (await client.get(f"/tasks/{task_id}")).json()["started_at"] is None


async def test_cancelling_a_running_task_stops_it_at_its_next_checkpoint(client: httpx.AsyncClient) -> None:
    task_id = await submit(client, "test_steps", {"steps": 200, "seconds": 0.1})
    await wait_for(client, task_id, ("RUNNING",), until=lambda t: t["progress"]["done"] >= 2)
    asked = time.monotonic()
    r = await client.delete(f"/tasks/{task_id}")
    assert r.status_code == 202 and r.json()["state"] == "CANCELLING", r.text
    ended = await wait_for(client, task_id)
    assert time.monotonic() - asked < 2.0  # a checkpoint every 0.1 s: stopped well within the 2 s goal
    assert ended["state"] == "CANCELLED"
    assert ended["result"]["stopped"] == "at a checkpoint"
    assert 2 <= ended["result"]["progress"]["done"] < 200  # with what it had done


async def test_a_task_that_ignores_its_stop_is_killed_after_the_grace_and_the_worker_carries_on(
        client: httpx.AsyncClient) -> None:
    task_id = await submit(client, "test_stubborn", {"seconds": 600})
    await wait_for(client, task_id, ("RUNNING",), until=lambda t: "Busy without checkpoints" in t["detailed_status"])
    pid = worker_pid((await task_row(client, task_id)).worker or "")
    assert (await client.delete(f"/tasks/{task_id}")).status_code == 202
    ended = await wait_for(client, task_id, timeout=30)
    assert ended["state"] == "CANCELLED"
    assert ended["result"] == {"stopped": "by force: no checkpoint within the grace period"}
    for _ in range(100):
        if not is_alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not is_alive(pid)  # its process was killed ...
    follow_up = await submit(client, "test_steps", {"steps": 1})
    assert (await wait_for(client, follow_up))["state"] == "DONE"  # ... and the pool replaced it


async def test_task_routes_are_owner_scoped_and_refuse_with_clear_errors(client: httpx.AsyncClient,
                                                                        auth_headers: Headers) -> None:
    alice, bob = auth_headers("user-alice"), auth_headers("user-bob")
    task_id = await submit(client, "test_steps", {"steps": 1}, owner="user-alice")
    for method, path in [("GET", f"/tasks/{task_id}"), ("DELETE", f"/tasks/{task_id}"),
                         ("GET", f"/tasks/{task_id}/events"), ("GET", f"/tasks/{task_id}/metrics"),
                         ("GET", f"/track/{task_id}")]:
        for headers in (bob, {}):
            r = await client.request(method, path, headers=headers)
            assert r.status_code == 404, (method, path, r.text)
            assert assert_error_body(r)["error"] == "task_not_found"
    unknown = await client.get("/tasks/0123456789abcdef0123456789abcdef", headers=alice)
    assert unknown.status_code == 404
    done = await wait_for(client, task_id, headers=alice)
    again = await client.delete(f"/tasks/{task_id}", headers=alice)
    assert again.status_code == 409
    body = assert_error_body(again)
    assert (body["error"], body["state"]) == ("task_finished", done["state"])
    assert (await client.get("/tasks")).status_code == 401  # listing needs a signed-in user


async def test_the_task_list_is_the_callers_own_paged_newest_first(client: httpx.AsyncClient,
                                                                  auth_headers: Headers) -> None:
    alice = auth_headers("user-alice")
    mine = [await submit(client, "test_steps", {"steps": 1}, owner="user-alice") for _ in range(3)]
    await submit(client, "test_steps", {"steps": 1}, owner="user-bob")
    first = await client.get("/tasks?limit=2", headers=alice)
    assert first.status_code == 200 and first.headers["x-total-count"] == "3"
    assert [t["task_id"] for t in first.json()] == [mine[2], mine[1]]
    assert 'rel="next"' in first.headers["link"]
    second = await client.get("/tasks?limit=2&offset=2", headers=alice)
    assert [t["task_id"] for t in second.json()] == [mine[0]]
    only_steps = await client.get("/tasks?kind=test_failing", headers=alice)
    assert only_steps.json() == [] and only_steps.headers["x-total-count"] == "0"


def parse_sse(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":") and ": " in line:
                key, _, value = line.partition(": ")
                fields[key] = value
        if "event" in fields:
            events.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return events


async def test_events_stream_every_change_and_a_reconnect_gets_only_what_it_missed(
        client: httpx.AsyncClient) -> None:
    task_id = await submit(client, "test_steps", {"steps": 3, "seconds": 0.1})
    async with client.stream("GET", f"/tasks/{task_id}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join([chunk async for chunk in r.aiter_text()])  # the stream ends with the task
    events = parse_sse(text)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    states = [e["data"]["state"] for e in events if e["event"] == "state"]
    assert states == ["QUEUED", "RUNNING", "DONE"]
    assert [e["data"]["values"]["step"] for e in events if e["event"] == "metrics"] == [1, 2, 3]
    assert any(e["event"] == "progress" for e in events)
    assert [e["data"]["line"] for e in events if e["event"] == "log"] == ["all steps done"]
    assert all(e["data"]["task_id"] == task_id for e in events)
    middle = events[len(events) // 2]["id"]
    resumed = await client.get(f"/tasks/{task_id}/events", headers={"Last-Event-ID": str(middle)})
    assert [e["id"] for e in parse_sse(resumed.text)] == [i for i in ids if i > middle]


async def test_too_many_open_event_streams_are_refused_with_429(tmp_path: Any) -> None:
    settings = engine_settings(tmp_path / "data", max_event_streams_per_client=1)
    async with running_client(settings) as client:
        task_id = await submit(client, "test_steps", {"steps": 30, "seconds": 0.1})

        async def second_stream() -> httpx.Response:
            while not app_state(client).event_streams:  # until the first stream holds its slot
                await asyncio.sleep(0.01)
            refused = await client.get(f"/tasks/{task_id}/events")
            await client.delete(f"/tasks/{task_id}")  # ends the task, and so the first stream
            return refused

        first, second = await asyncio.gather(client.get(f"/tasks/{task_id}/events"), second_stream())
        assert first.status_code == 200 and parse_sse(first.text)[-1]["data"]["state"] == "CANCELLED"
        assert second.status_code == 429 and second.headers["retry-after"]
        assert assert_error_body(second)["error"] == "rate_limited"
        again = await client.get(f"/tasks/{task_id}/events")  # the slot was given back when the stream closed
        assert again.status_code == 200


async def test_capacity_is_reserved_at_admission_so_concurrent_requests_never_overfill(tmp_path: Any) -> None:
    settings = engine_settings(tmp_path / "data", embedded_workers=False, max_tasks_per_client=2,
                               max_queued_tasks=5)
    async with running_client(settings) as client:
        state = app_state(client)

        async def attempt(owner: str) -> str:
            try:
                await engine.submit(state, "test_steps", user(owner), f"user:{owner}", {"steps": 1})
                return "admitted"
            except Exception as exc:  # noqa: BLE001 - the outcome is what is asserted
                return getattr(exc, "code", type(exc).__name__)

        outcomes = await asyncio.gather(*(attempt("user-race") for _ in range(8)))
        assert sorted(outcomes) == ["admitted"] * 2 + ["rate_limited"] * 6
        others = await asyncio.gather(*(attempt(f"user-{n}") for n in range(6)))
        assert sorted(others) == ["admitted"] * 3 + ["test_steps_queue_full"] * 3
        async with state.session() as session:
            rows, total = await session.run_sync(lambda s: task_repo.list_tasks(
                s, None, kind="test_steps", state="QUEUED", limit=50, offset=0))
        assert total == 5  # refused requests left no row behind


async def test_a_secret_is_stored_encrypted_given_only_to_the_worker_and_wiped_when_the_task_ends(
        client: httpx.AsyncClient, settings: Settings) -> None:
    key = "sk-test-0123456789abcdefSECRET"
    digest = hashlib.sha256(key.encode()).hexdigest()
    task_id = await submit(client, "test_steps", {"steps": 1, "secret_sha256": digest}, secrets={"api_key": key})
    done = await wait_for(client, task_id)
    assert done["result"]["had_secret"] is True and done["result"]["secret_matches"] is True
    assert (await task_row(client, task_id)).secrets is None
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path  # not in the database, queue or any file
    assert key not in json.dumps(done)


async def test_a_waiting_task_with_a_secret_holds_it_only_encrypted(tmp_path: Any) -> None:
    settings = engine_settings(tmp_path / "data", embedded_workers=False)
    key = "hf_test_waiting_token_0987654321"
    async with running_client(settings) as client:
        task_id = await submit(client, "test_steps", {"steps": 1}, secrets={"api_key": key})
        sealed = (await task_row(client, task_id)).secrets
        assert sealed and key not in sealed
        db_bytes = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*.db*") if p.is_file())
        assert key.encode() not in db_bytes


async def test_an_unknown_task_kind_is_refused_before_anything_is_stored(client: httpx.AsyncClient) -> None:
    from backend.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="Unknown task kind"):
        await engine.submit(app_state(client), "no_such_kind", None, "addr:x", {})
    async with app_state(client).session() as session:
        _, total = await session.run_sync(lambda s: task_repo.list_tasks(s, None, kind=None, state=None, limit=1,
                                                                         offset=0))
    assert total == 0


async def test_live_workers_say_which_queues_they_take(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        queues = (await client.get("/workers")).json()["queues"]
        if queues:
            break
        await asyncio.sleep(0.1)
    # one embedded `slmgen worker` taking every kind's queue; no GPU here, so no gpu queue
    assert queues == {name: 1 for name in queues_for(None) if name != "gpu"}
    assert {"analysis", "test"} <= set(queues)
    with pytest.raises(Exception, match="No worker is connected that takes GPU training") as refused:
        await engine.require_worker(app_state(client), "gpu", "GPU training", "Use the notebook instead.")
    assert getattr(refused.value, "code", None) == "no_worker"
    await engine.require_worker(app_state(client), "analysis", "analyses", "")


def test_a_machine_without_a_gpu_does_not_take_the_gpu_queue_unless_told_to(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.worker import supervisor

    monkeypatch.setitem(supervisor.QUEUE_NEEDS, "gpu", ("an NVIDIA GPU", lambda: False))
    assert supervisor.usable_queues(["analysis", "gpu", "training"], explicit=False) == ["analysis", "training"]
    assert supervisor.usable_queues(["gpu"], explicit=True) == ["gpu"]
    monkeypatch.setitem(supervisor.QUEUE_NEEDS, "gpu", ("an NVIDIA GPU", lambda: True))
    assert supervisor.usable_queues(["analysis", "gpu"], explicit=False) == ["analysis", "gpu"]


async def test_a_task_that_makes_a_dataset_has_it_analysed_next_as_a_follow_up(client: httpx.AsyncClient) -> None:
    from tests.api.conftest import wait_for_analysis

    new_id = "made-dataset-0001-abcdefgh"
    task_id = await submit(client, "test_makes_dataset", {"dataset_id": new_id, "examples": 12})
    done = await wait_for(client, task_id)
    assert done["state"] == "DONE", done
    follow_up = (await client.get(f"/tasks/{done['result']['analysis_task_id']}")).json()
    assert follow_up["kind"] == "analysis" and follow_up["dataset_id"] == new_id
    assert follow_up["detailed_status"][0] == f"Started by task {task_id} (test_makes_dataset)"
    analysed = await wait_for_analysis(client, new_id)
    assert analysed.status_code == 200, analysed.text
    assert analysed.json()["total_examples"] == 12
    assert (await client.get(f"/tasks/{follow_up['task_id']}")).json()["state"] == "DONE"
