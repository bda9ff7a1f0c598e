"""Security properties of the running app: headers, CORS, who may see what, expiring links, quiet 500s."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.api.routes.system import FRONTEND_DIR
from backend.services import notebooks as notebook_service
from backend.services import previews
from backend.services.datasets import utcnow
from backend.settings import Settings
from tests.api.conftest import upload_and_analyze, wait_for_analysis
from tests.reliability import hostile
from tests.reliability.conftest import assert_error_body, assert_nothing_internal, make_settings, running_client

Headers = Callable[..., dict[str, str]]
GOOD_FILE = (hostile.GOOD_LINE + "\n").encode() * 3
MODEL = "smollm2-135m-instruct"


def csp_directives(response: httpx.Response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    directives = (part.strip().split() for part in policy.split(";") if part.strip())
    return {d[0]: d[1:] for d in directives}


def assert_security_headers(response: httpx.Response) -> None:
    csp = csp_directives(response)
    for directive, sources in csp.items():
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (directive, sources)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_the_web_page_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_security_headers(r)
    script = await client.get("/app/main.js")
    assert script.status_code == 200
    assert_security_headers(script)


@pytest.mark.parametrize("method,path", [("GET", "/health"), ("GET", "/config"), ("GET", "/models"),
                                         ("GET", "/analyze/no-such-session"), ("POST", "/upload"),
                                         ("GET", "/jobs")])
async def test_api_answers_carry_the_security_headers(client: httpx.AsyncClient, method: str, path: str) -> None:
    r = await client.request(method, path)
    assert_security_headers(r)


class ScriptFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts and on* handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.handlers: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.handlers += [name for name in names if name.startswith("on")]
        self._in_inline_script = tag == "script" and "src" not in names

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False


def test_the_web_page_needs_no_inline_script() -> None:
    # The CSP forbids inline script: the page would break if it had any.
    pages = sorted(FRONTEND_DIR.rglob("*.html"))
    assert pages, f"no HTML under {FRONTEND_DIR.name}/"
    for page in pages:
        finder = ScriptFinder()
        finder.feed(page.read_text(encoding="utf-8"))
        assert finder.inline_scripts == 0 and finder.handlers == [], page.name
    for script in FRONTEND_DIR.rglob("*.js"):
        assert not re.search(r"\beval\s*\(|new Function\s*\(", script.read_text(encoding="utf-8")), script.name


FOREIGN = "https://evil.example"
ALLOWED = "https://app.example.org"


async def cors_answers(client: httpx.AsyncClient, origin: str) -> tuple[httpx.Response, httpx.Response]:
    simple = await client.get("/health", headers={"origin": origin})
    preflight = await client.options("/upload", headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization"})
    return simple, preflight


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    for response in await cors_answers(client, FOREIGN):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


async def test_cors_opens_only_to_the_configured_origins(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", cors_origins=[ALLOWED])
    async with running_client(settings) as client:
        simple, preflight = await cors_answers(client, ALLOWED)
        assert simple.headers["access-control-allow-origin"] == ALLOWED
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in preflight.headers["access-control-allow-methods"]
        for response in await cors_answers(client, FOREIGN):
            assert "access-control-allow-origin" not in response.headers


async def owned_dataset(client: httpx.AsyncClient, owner: dict[str, str]) -> str:
    session_id, analysed = await upload_and_analyze(client, GOOD_FILE, headers=owner)
    assert analysed.status_code == 200
    return session_id


def scoped_requests(session_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every route that reads or acts on one dataset, as (method, path, JSON body)."""
    return [
        ("GET", f"/analyze/{session_id}", None),
        ("POST", f"/analyze/{session_id}", {"max_seq_length": 512}),
        ("GET", f"/preview/{session_id}", None),
        ("GET", f"/preview/{session_id}/distribution", None),
        ("GET", f"/preview/{session_id}/duplicates", None),
        ("POST", "/recommend", {"session_id": session_id, "task_type": "conversation",
                                "deployment_target": "cloud"}),
        ("POST", "/generate", {"session_id": session_id, "model_id": MODEL}),
        ("POST", "/jobs", {"session_id": session_id}),
    ]


async def test_every_dataset_route_is_404_to_anyone_but_the_owner(client: httpx.AsyncClient,
                                                                 auth_headers: Headers) -> None:
    alice, bob = auth_headers("user-alice"), auth_headers("user-bob")
    session_id = await owned_dataset(client, alice)
    unknown_id = "N0tAnUpl0adId-" + "x" * 18
    for method, path, body in scoped_requests(session_id):
        for stranger in (bob, {}):
            r = await client.request(method, path, json=body, headers=stranger)
            if path == "/jobs" and not stranger:
                assert r.status_code == 401  # jobs are for signed-in people only
                continue
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert assert_error_body(r)["error"] == "session_not_found"
            # Exactly what a made-up id gets: the answer does not even say the dataset exists.
            unknown_body = None if body is None else {**body, "session_id": unknown_id}
            unknown = await client.request(method, path.replace(session_id, unknown_id), json=unknown_body,
                                           headers=stranger)
            assert unknown.json() == r.json(), (method, path)
    # The owner is served by every one of them (the 404s above are about who asks, not broken routes).
    for method, path, body in scoped_requests(session_id):
        if path.startswith("/analyze") and method == "POST":
            continue  # re-analysis is checked last: it makes the report not ready for a moment
        r = await client.request(method, path, json=body, headers=alice)
        assert r.status_code in (200, 201), (method, path, r.text)
    r = await client.post(f"/analyze/{session_id}", json={"max_seq_length": 512}, headers=alice)
    assert r.status_code == 202
    final = await wait_for_analysis(client, session_id, alice)
    assert final.status_code == 200 and final.json()["report"]["truncation"]["max_seq_length"] == 512


async def test_jobs_of_another_user_are_404(client: httpx.AsyncClient, auth_headers: Headers) -> None:
    alice, bob = auth_headers("user-alice"), auth_headers("user-bob")
    await owned_dataset(client, alice)
    (job,) = (await client.get("/jobs", headers=alice)).json()
    for method, body in (("GET", None), ("PATCH", {"status": "failed"}), ("DELETE", None)):
        r = await client.request(method, f"/jobs/{job['id']}", json=body, headers=bob)
        assert r.status_code == 404 and r.json()["error"] == "job_not_found", (method, r.text)
        assert (await client.request(method, f"/jobs/{job['id']}", json=body)).status_code == 401
    assert (await client.get("/jobs", headers=bob)).json() == []
    assert (await client.get(f"/jobs/{job['id']}", headers=alice)).json()["status"] == "analyzed"


async def test_anonymous_ids_and_download_tokens_are_unguessable(client: httpx.AsyncClient) -> None:
    ids = set()
    for _ in range(5):
        session_id, analysed = await upload_and_analyze(client, GOOD_FILE)
        assert analysed.status_code == 200
        ids.add(session_id)
    assert len(ids) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32,64}", i) for i in ids), ids  # >= 192 bits, URL-safe
    generated = await client.post("/generate", json={"session_id": session_id, "model_id": MODEL})
    token = generated.json()["download_url"].removeprefix("/download/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,64}", token), token  # >= 256 bits


async def test_download_link_works_for_its_holder_until_it_expires(client: httpx.AsyncClient, settings: Settings,
                                                                   auth_headers: Headers,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = auth_headers("user-alice"), auth_headers("user-bob")
    anonymous_id, _ = await upload_and_analyze(client, GOOD_FILE)
    owned_id = await owned_dataset(client, alice)
    anonymous = (await client.post("/generate", json={"session_id": anonymous_id, "model_id": MODEL})).json()
    owned = (await client.post("/generate", json={"session_id": owned_id, "model_id": MODEL},
                               headers=alice)).json()
    for link in (anonymous["download_url"], owned["download_url"]):
        for holder in ({}, bob):
            r = await client.get(link, headers=holder)
            assert r.status_code == 200 and r.json()["nbformat"] == 4

    real_now = utcnow()
    ttl = timedelta(hours=settings.download_link_ttl_hours)
    monkeypatch.setattr(notebook_service, "utcnow", lambda: real_now + ttl + timedelta(minutes=1))
    for link, holder in ((anonymous["download_url"], {}), (anonymous["download_url"], bob),
                         (owned["download_url"], bob), (owned["download_url"], {})):
        r = await client.get(link, headers=holder)
        assert r.status_code == 410 and r.json()["error"] == "link_expired", (link, r.text)
    # Its owner keeps access to their own notebook.
    assert (await client.get(owned["download_url"], headers=alice)).status_code == 200



@pytest.mark.parametrize("name", [
    "../../etc/passwd.jsonl",
    "x" * 300 + ".jsonl",
    "données 東京 " * 20 + ".jsonl",
    pytest.param("\U0001d400" * 70 + ".jsonl", id="four_byte_letters"),
])
async def test_notebook_files_are_named_by_the_server(client: httpx.AsyncClient, settings: Settings,
                                                      name: str) -> None:
    session_id, analysed = await upload_and_analyze(client, GOOD_FILE, name)
    assert analysed.status_code == 200
    r = await client.post("/generate", json={"session_id": session_id, "model_id": MODEL})
    assert r.status_code == 200, (r.status_code, r.text)
    assert "/" not in r.json()["notebook_path"] and ".." not in r.json()["notebook_path"]
    (stored,) = [p for p in settings.data_dir.rglob("*.ipynb")]
    assert stored.parent == settings.notebooks_dir
    assert len(stored.name.encode()) <= 255
    assert re.fullmatch(r"[A-Za-z0-9_-]+__slmgen_[\w.-]+\.ipynb", stored.name), stored.name  # dots: model size


async def test_an_unexpected_error_is_a_500_that_echoes_nothing_internal(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path / "data")
    secret_path = str(settings.data_dir.resolve() / "uploads")

    def broken_distribution(_: object) -> dict[str, Any]:
        raise RuntimeError(f"secret {secret_path} {settings.supabase_jwt_secret}")

    monkeypatch.setattr(previews, "distribution", broken_distribution)
    async with running_client(settings, raise_app_exceptions=False) as client:
        session_id, _ = await upload_and_analyze(client, GOOD_FILE)
        r = await client.get(f"/preview/{session_id}/distribution")
    assert r.status_code == 500
    assert assert_error_body(r)["error"] == "internal_error"
    assert_nothing_internal(r, settings)
    assert "secret" not in r.text and "RuntimeError" not in r.text


async def test_an_unexpected_error_still_carries_the_security_headers(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_distribution(_: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(previews, "distribution", broken_distribution)
    async with running_client(make_settings(tmp_path / "data"), raise_app_exceptions=False) as client:
        session_id, _ = await upload_and_analyze(client, GOOD_FILE)
        r = await client.get(f"/preview/{session_id}/distribution")
    assert r.status_code == 500
    assert_security_headers(r)
