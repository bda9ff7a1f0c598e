"""Colab runs reporting back: a per-run token posts progress to its own run only (a wrong token, another run's
token, no token: 401), the reports make a task of kind colab_training with the loss curve in its metrics history
and events, owner-scoped; the last step's record ends it DONE, and a stop asked for is answered to the notebook."""

from __future__ import annotations

import math
from typing import Any

from tests.reliability.conftest import assert_error_body
from tests.runs.conftest import sse_events


def record(step: int, loss: float, max_steps: int = 2) -> dict[str, Any]:
    return {"step": step, "epoch": step / max_steps, "loss": loss, "learning_rate": 2e-4, "tokens_seen": 100 * step,
            "tokens_per_second": 812.5, "elapsed_seconds": 1.5 * step, "max_steps": max_steps, "eval_loss": None}


async def test_a_colab_run_reports_with_its_own_token_only(client: Any, auth_headers: Any) -> None:
    alice, bob = auth_headers("alice-id"), auth_headers("bob-id")
    r = await client.post("/training/colab", headers=alice, json={"model": "smollm2-135m-instruct"})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["report_url"].endswith(run["report_path"]) and len(run["report_token"]) >= 32
    other = (await client.post("/training/colab", headers=bob, json={"model": "smollm2-135m-instruct"})).json()
    url = run["report_path"]

    for headers in ({"Authorization": f"Bearer {other['report_token']}"}, {"Authorization": "Bearer nope"}, {},
                    {"Authorization": f"Basic {run['report_token']}"}):
        r = await client.post(url, headers=headers, json=record(1, 2.5))
        assert r.status_code == 401 and assert_error_body(r)["error"] == "invalid_report_token", r.text
    r = await client.post(f"/training/colab/{'0' * 32}/report", json=record(1, 2.5),
                          headers={"Authorization": f"Bearer {run['report_token']}"})
    assert r.status_code == 401  # an unknown run answers as a wrong token does
    assert (await client.get("/tasks?kind=colab_training", headers=alice)).json() == []  # nothing recorded

    mine = {"Authorization": f"Bearer {run['report_token']}"}
    first = (await client.post(url, headers=mine, json=record(1, 2.5))).json()
    assert first["state"] == "RUNNING" and first["stop"] is False
    task_id = first["task_id"]
    task = (await client.get(f"/tasks/{task_id}", headers=alice)).json()
    assert task["kind"] == "colab_training" and task["state"] == "RUNNING" and task["metrics"]["loss"] == 2.5
    assert (await client.get(f"/tasks/{task_id}", headers=bob)).status_code == 404

    last = (await client.post(url, headers=mine, json=record(2, 2.1))).json()
    assert last["task_id"] == task_id and last["state"] == "DONE"
    history = (await client.get(f"/tasks/{task_id}/metrics", headers=alice)).json()["history"]
    assert [(p["step"], p["loss"]) for p in history] == [(1, 2.5), (2, 2.1)]
    assert all(math.isfinite(p["tokens_per_second"]) and "eval_loss" not in p for p in history)
    events = sse_events((await client.get(f"/tasks/{task_id}/events", headers=alice)).text)
    assert [e["data"]["values"]["step"] for e in events if e.get("event") == "metrics"] == [1, 2]
    tracked = (await client.get(f"/track/{task_id}", headers=alice)).json()["response"]
    assert tracked["state"] == "DONE" and tracked["result"]["final_loss"] == 2.1


async def test_a_stop_asked_in_the_product_is_answered_to_the_notebook(client: Any, auth_headers: Any) -> None:
    alice = auth_headers("alice-id")
    run = (await client.post("/training/colab", headers=alice, json={"model": "smollm2-135m-instruct"})).json()
    mine = {"Authorization": f"Bearer {run['report_token']}"}
    task_id = (await client.post(run["report_path"], headers=mine, json=record(1, 3.0, max_steps=10))).json()["task_id"]
    r = await client.delete(f"/tasks/{task_id}", headers=alice)
    assert r.status_code in (200, 202), r.text
    answer = (await client.post(run["report_path"], headers=mine, json=record(2, 2.9, max_steps=10))).json()
    assert answer["stop"] is True and answer["task_id"] == task_id


async def test_a_notebook_generated_with_report_progress_carries_its_runs_url_and_token(
        client: Any, auth_headers: Any) -> None:
    import json as jsonlib
    from urllib.parse import urlsplit

    from tests.api.conftest import upload_and_analyze
    from tests.conftest import shared_file

    alice = auth_headers("alice-id")
    session_id, _ = await upload_and_analyze(
        client, shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"), headers=alice)
    body = {"session_id": session_id, "model_id": "smollm2-135m-instruct"}
    plain = (await client.post("/generate", headers=alice, json=body)).json()
    assert plain["report_run_id"] is None
    anonymous, _ = await upload_and_analyze(
        client, shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"))
    r = await client.post("/generate", json={**body, "session_id": anonymous, "report_progress": True})
    assert r.status_code == 401  # an anonymous notebook could report to no one's monitor

    generated = (await client.post("/generate", headers=alice, json={**body, "report_progress": True})).json()
    run_id = generated["report_run_id"]
    notebook = jsonlib.loads((await client.get(generated["download_url"], headers=alice)).content)
    injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1
    values: dict[str, Any] = {}
    exec("".join(injected[0]["source"]), {}, values)  # the cell is plain assignments of literals
    assert urlsplit(values["REPORT_URL"]).path == f"/training/colab/{run_id}/report"
    plain_notebook = jsonlib.loads((await client.get(plain["download_url"], headers=alice)).content)
    assert not any("injected-parameters" in c["metadata"].get("tags", []) for c in plain_notebook["cells"])

    # The notebook's own token posts to its run, as the runtime's ReportBack does.
    r = await client.post(urlsplit(values["REPORT_URL"]).path, json=record(1, 2.0),
                          headers={"Authorization": f"Bearer {values['REPORT_TOKEN']}"})
    assert r.status_code == 200 and r.json()["state"] == "RUNNING", r.text
    assert (await client.get(f"/tasks/{r.json()['task_id']}", headers=alice)).json()["kind"] == "colab_training"
