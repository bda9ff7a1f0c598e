"""The browser tests' harness: the real app served by `slmgen serve` in a subprocess, and Debian's
Chromium driven by Playwright. Each test saves a screenshot per step under tests/artifacts/browser/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from backend.settings import DEV_JWT_SECRET
from tests.conftest import REPO_ROOT, SHARED_DATA, shared_file

ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Small enough that a too-large upload is cheap to make, large enough for every shared dataset.
MAX_UPLOAD_BYTES = 4_000_000
SERVER_START_SECONDS = 120  # a guard against a hung start, not a performance limit


def _slmgen() -> str:
    # The console script installed beside the interpreter running the tests (the project's venv).
    script = Path(sys.executable).parent / "slmgen"
    if not script.exists():
        pytest.fail(f"the slmgen command is missing beside {sys.executable}: run `make install-test` first")
    return str(script)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """Runs an `slmgen` subcommand with the server's settings and returns its output."""
        done = subprocess.run([_slmgen(), *args], env=self.env, cwd=REPO_ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"slmgen {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout.strip()

    def token(self, user_id: str, email: str | None = None) -> str:
        return self.cli("token", "--user-id", user_id, *(["--email", email] if email else []))

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_server(data_dir: Path, log_path: Path, **settings: str) -> LiveServer:
    """Migrates a fresh database under data_dir and serves the app on a free port until /health answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DATABASE_URL"))}
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "ENVIRONMENT": "development",
            "SUPABASE_JWT_SECRET": DEV_JWT_SECRET,
            "SUPABASE_URL": "http://127.0.0.1:54321",
            "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "ANALYSIS_WORKERS": "1",
        }
    )
    env.update(settings)
    server = LiveServer(base_url=f"http://127.0.0.1:{port}", env=env, log_path=log_path)
    server.cli("migrate")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        server.process = subprocess.Popen(
            [_slmgen(), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"the app exited with {server.process.returncode} while starting:\n{server.log_tail()}"
            )
        try:
            if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(server)
    pytest.fail(f"the app did not answer /health within {SERVER_START_SECONDS} s:\n{server.log_tail()}")


def stop_server(server: LiveServer) -> None:
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("browser-data"), ARTIFACTS / "server.log")
    yield server
    stop_server(server)


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: run `make system-deps` (installs Debian's chromium)")
    return path


# Package scope, not session: while Playwright's sync API is running it keeps an asyncio loop set on this
# thread, which would break every async test that runs after the browser tests.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class PageProblems:
    """Uncaught errors and console errors: a page that 'works' while throwing is not working."""

    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        # A failed HTTP request is logged by Chromium itself; the page shows those to the person.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


class Steps:
    """Saves a numbered screenshot per step of a test, for a person to look at."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def shot(self, label: str, *, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def _test_folder_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems = PageProblems()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not problems.errors, f"the page reported errors: {problems.errors}"


@pytest.fixture
def steps(page: Page, request: pytest.FixtureRequest) -> Steps:
    return Steps(page, _test_folder_name(request))


def open_app(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/")
    page.wait_for_selector("body[data-ready=true]")


# --- web page (issue 14): phone and desktop widths, datasets analysed once, pages opened by address ---
WIDTHS = [390, 1366]  # a phone and a laptop: every broken item is checked at both
ANALYSIS_WAIT_MS = 120_000  # the first analysis also starts the worker process


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def width(request: pytest.FixtureRequest, page: Page) -> int:
    page.set_viewport_size({"width": request.param, "height": 844 if request.param < 600 else 900})
    return int(request.param)


def upload_via_api(server: LiveServer, name: str, token: str | None = None) -> str:
    """Uploads a shared dataset through the API, waits for its analysis (or its failure); the session id."""
    path = shared_file(name)
    with server.api(token) as api:
        answer = api.post("/upload", files={"file": (path.name, path.read_bytes())})
        assert answer.status_code == 200, answer.text
        session_id = str(answer.json()["session_id"])
        while api.get(f"/analyze/{session_id}").status_code == 202:
            time.sleep(0.1)
    return session_id


@pytest.fixture(scope="session")
def analysed(live_server: LiveServer) -> dict[str, str]:
    """Every shared dataset uploaded once (anonymously): file name -> session id, analysed or refused."""
    names = sorted(p.name for p in SHARED_DATA.iterdir() if p.is_file() and p.name != "README.md")
    return {name: upload_via_api(live_server, name) for name in names}


def open_dataset(page: Page, server: LiveServer, session_id: str, query: str = "") -> None:
    """Opens an analysis by its address, as a reload or a shared link does, and waits until it is shown."""
    page.goto(f"{server.base_url}/#/dataset/{session_id}{query}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)


def horizontal_overflow(page: Page) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))
