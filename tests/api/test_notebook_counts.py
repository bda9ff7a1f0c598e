"""What went into a notebook is said, never silent: POST /generate and the job history give how many
examples the notebook trains on, which were left out and why, and the records the analysis refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from tests.api.conftest import upload_and_analyze
from tests.conftest import shared_file

# The cookbook's 5 examples, then one with no assistant reply (usable, but nothing to learn from) and
# a line that is not JSON (refused by the analysis).
EXTRA = b'{"messages": [{"role": "user", "content": "Hello, is anyone there?"}]}\nthis line is not JSON\n'


async def test_generate_and_history_count_the_examples_in_the_notebook(
    client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    data = shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl").read_bytes() + EXTRA
    headers = auth_headers("counts-user")
    sid, analysed = await upload_and_analyze(client, data, "toy_plus.jsonl", headers=headers)
    report = analysed.json()["report"]
    assert (report["records_total"], report["records_unusable"], report["total_examples"]) == (7, 1, 6)

    r = await client.post("/generate", json={"session_id": sid, "model_id": "qwen2.5-0.5b-instruct"},
                          headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["examples_included"] == 5 and body["examples_left_out"] == 1
    assert body["left_out"] == [{"index": 5, "reason": "it has no assistant reply to learn from"}]
    assert (body["records_total"], body["records_unusable"]) == (7, 1)
    # The file name keeps the model's size: "qwen2.5-0.5b", not "qwen2_5".
    assert body["notebook_path"] == "slmgen_qwen2.5-0.5b-instruct_toy_plus.ipynb"

    [job] = (await client.get("/jobs", headers=headers)).json()
    assert job["session_id"] == sid and job["status"] == "generated"
    assert job["notebook_examples"] == 5 and job["notebook_examples_left_out"] == 1
    assert job["notebook_records_unusable"] == 1
    assert datetime.fromisoformat(job["notebook_expires_at"]) == datetime.fromisoformat(body["expires_at"])
    assert job["download_url"] == body["download_url"]
