"""POST /generate and the download link, through the real app, on real datasets."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import nbformat
import pytest

from backend.settings import Settings
from tests.api.conftest import upload_and_analyze
from tests.conftest import shared_file

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"


async def generate(client: httpx.AsyncClient, sid: str, model_id: str = "smollm2-135m-instruct",
                   headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
    return await client.post("/generate", json={"session_id": sid, "model_id": model_id, **extra},
                             headers=headers or {})


async def test_generate_then_download_a_valid_notebook(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    r = await generate(client, sid, training_config={"lora_rank": 8, "learning_rate": 0.0001, "num_epochs": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["colab_url"] is None  # no GitHub token configured: no link rather than a broken one
    assert "colab.research.google.com" in body["colab_instructions"]
    assert body["notebook_path"].endswith(".ipynb") and "/" not in body["notebook_path"]
    assert body["download_url"].startswith("/download/")
    dl = await client.get(body["download_url"])
    assert dl.status_code == 200
    assert "attachment" in dl.headers["content-disposition"]
    nb = nbformat.reads(dl.text, as_version=4)
    nbformat.validate(nb)
    assert len(dl.content) == body["size_bytes"]
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "LORA_RANK = 8" in params.source or "lora_rank" in params.source.lower()


async def test_out_of_range_training_config_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    r = await generate(client, sid, training_config={"lora_rank": 0})
    assert r.status_code == 422
    assert "training_config.lora_rank" in r.json()["detail"]


async def test_unknown_model_is_404(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    r = await generate(client, sid, model_id="gpt-17-ultra")
    assert r.status_code == 404


async def test_generate_for_an_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    r = await generate(client, "no-such-session-id")
    assert r.status_code == 404 and r.json()["error"] == "session_not_found"


async def test_unknown_download_link_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/download/" + "x" * 43)
    assert r.status_code == 404


class FakeGitHub(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers["content-length"])
        FakeGitHub.received.append({"auth": self.headers.get("authorization"),
                                    "body": json.loads(self.rfile.read(length))})
        out = json.dumps({"id": "abc123def456", "owner": {"login": "octo"},
                          "html_url": "https://gist.github.com/octo/abc123def456"}).encode()
        self.send_response(201)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_github() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeGitHub.received = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


async def test_with_a_github_token_the_notebook_goes_to_a_secret_gist(client: httpx.AsyncClient,
                                                                      settings: Settings,
                                                                      fake_github: str) -> None:
    settings.github_api_url = fake_github
    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    r = await generate(client, sid, github_token="ghp_usertoken")
    assert r.status_code == 200, r.text
    assert r.json()["colab_url"] == "https://colab.research.google.com/gist/octo/abc123def456"
    sent = FakeGitHub.received[0]
    assert sent["auth"] == "Bearer ghp_usertoken"
    assert sent["body"]["public"] is False
    (name, file), = sent["body"]["files"].items()
    nbformat.validate(nbformat.reads(file["content"], as_version=4))


async def test_signed_in_flow_records_the_job(client: httpx.AsyncClient, auth_headers) -> None:  # type: ignore[no-untyped-def]
    alice = auth_headers("alice-0001", "alice@example.com")
    sid, _ = await upload_and_analyze(client, shared_file(GLAIVE), headers=alice)
    rec = await client.post("/recommend", json={"session_id": sid, "task_type": "tool_calling",
                                                "deployment_target": "cloud"}, headers=alice)
    assert rec.status_code == 200, rec.text
    best = rec.json()["recommendations"][0]["model_id"]
    job = next(j for j in (await client.get("/jobs", headers=alice)).json() if j["session_id"] == sid)
    assert (job["status"], job["task_type"], job["deployment_target"]) == ("recommended", "tool_calling", "cloud")
    assert job["model_id"] == best and job["model_score"] == rec.json()["recommendations"][0]["score"]
    gen = await generate(client, sid, model_id=best, headers=alice)
    assert gen.status_code == 200, gen.text
    jobs = (await client.get("/jobs", headers=alice)).json()
    job = next(j for j in jobs if j["session_id"] == sid)
    assert job["status"] == "generated"
    assert job["model_id"] == best
    assert job["dataset_filename"] == GLAIVE
    assert job["dataset_stats"]["total_examples"] == 300
    assert job["download_url"] == gen.json()["download_url"]  # re-download from the history


async def test_expired_link_is_410_for_others_but_the_owner_still_downloads(
        client: httpx.AsyncClient, settings: Settings, auth_headers) -> None:  # type: ignore[no-untyped-def]
    settings.download_link_ttl_hours = 0.5 / 3600  # half a second
    alice = auth_headers("alice-0002")
    sid, _ = await upload_and_analyze(client, shared_file(TOY), headers=alice)
    gen = await generate(client, sid, headers=alice)
    url = gen.json()["download_url"]
    await asyncio.sleep(1.0)
    assert (await client.get(url)).status_code == 410
    assert (await client.get(url, headers=auth_headers("mallory"))).status_code == 410
    assert (await client.get(url, headers=alice)).status_code == 200


class GarbledGitHub(BaseHTTPRequestHandler):
    """Answers 201 with a page that is not the gist's JSON (a proxy's page, a half-working stand-in)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["content-length"]))
        out = b"<html>Created</html>"
        self.send_response(201)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


async def test_a_gist_answer_that_is_not_json_still_gives_the_notebook_without_a_link(
        client: httpx.AsyncClient, settings: Settings) -> None:
    server = HTTPServer(("127.0.0.1", 0), GarbledGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.github_api_url = f"http://127.0.0.1:{server.server_port}"
        sid, _ = await upload_and_analyze(client, shared_file(TOY))
        r = await generate(client, sid, github_token="ghp_usertoken")
    finally:
        server.shutdown()
    assert r.status_code == 200, r.text
    assert r.json()["colab_url"] is None and "No Colab link" in r.json()["colab_instructions"]
    assert (await client.get(r.json()["download_url"])).status_code == 200
    assert len(list(settings.notebooks_dir.iterdir())) == 1  # no file left behind by a failed attempt


async def test_an_unexpected_failure_after_rendering_leaves_no_notebook_file(
        client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.services import notebooks

    async def broken(*_: object) -> tuple[str | None, str | None]:
        raise RuntimeError("a bug in the link step")

    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    monkeypatch.setattr(notebooks, "_colab_link", broken)
    r = await generate(client, sid)
    assert r.status_code == 500 and "bug" not in r.text
    assert list(settings.notebooks_dir.iterdir()) == []


async def test_left_out_examples_are_named_by_their_record_number(client: httpx.AsyncClient) -> None:
    good = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
    data = (good
            + b'{"messages": [{"role": "user", "content": \n'  # record 1: cut short, unusable, not stored
            + b'{"messages": [{"role": "user", "content": "a question nobody answers"}]}\n'  # record 2
            + good * 3)
    sid, r = await upload_and_analyze(client, data, "mixed.jsonl")
    assert r.status_code == 200, r.text
    gen = await generate(client, sid)
    assert gen.status_code == 200, gen.text
    nb = nbformat.reads((await client.get(gen.json()["download_url"])).text, as_version=4)
    title = nb.cells[0].source
    # Markdown-escaped in the notebook: "\#2 \(...\)". Record 2 is the second stored example.
    assert "\\#2 \\(it has no assistant reply to learn from\\)" in title, title
