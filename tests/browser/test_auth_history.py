"""Signing in (development token and Supabase password sign-in), the job history, expired sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from backend.auth import mint_dev_token
from backend.settings import DEV_JWT_SECRET
from tests.browser.conftest import ARTIFACTS, LiveServer, Steps, open_app, start_server, stop_server
from tests.browser.fake_supabase import Account, FakeSupabase
from tests.conftest import shared_file

pytestmark = pytest.mark.browser

ANALYSIS_WAIT_MS = 120_000


def sign_in_with_token(page: Page, token: str) -> None:
    page.locator("#sign-in-button").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Development token").fill(token)
    dialog.get_by_role("button", name="Use this token").click()


def jobs_of(server: LiveServer, token: str) -> list[dict[str, object]]:
    with server.api(token) as api:
        answer = api.get("/jobs")
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def generate_notebook_in_page(page: Page, dataset: Path) -> str:
    page.set_input_files("#file-input", str(dataset))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    page.get_by_role("button", name="Recommend models").click()
    page.locator("li.model-card").first.get_by_role("button", name=re.compile("^Use ")).click()
    page.fill("#train-max_steps", "10")
    page.get_by_role("button", name="Generate notebook").click()
    expect(page.locator("#download-link")).to_be_visible(timeout=60_000)
    return str(page.evaluate("() => document.body.dataset.sessionId"))


def test_dev_token_sign_in_history_redownload_and_delete(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    user = "browser-history-user"
    token = live_server.token(user, email="history@example.org")
    open_app(page, live_server)
    page.get_by_role("link", name="History").click()
    expect(page.locator("#history-list")).to_contain_text("Sign in to see")
    steps.shot("history-signed-out")

    sign_in_with_token(page, "not-a-token")
    expect(page.locator("#sign-in-error")).to_contain_text("not a token")
    page.get_by_label("Development token").fill(token)
    page.get_by_role("button", name="Use this token").click()
    expect(page.locator("#account-status")).to_have_text("Signed in as history@example.org")
    expect(page.locator("#history-list")).to_contain_text("No jobs yet")
    steps.shot("signed-in-empty-history")

    page.get_by_role("link", name="New dataset").click()
    dataset = shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl")
    session_id = generate_notebook_in_page(page, dataset)
    steps.shot("generated-signed-in")

    jobs = jobs_of(live_server, token)
    assert [j["session_id"] for j in jobs] == [session_id]
    page.get_by_role("link", name="History").click()
    job = page.locator("li.job")
    expect(job).to_have_count(1)
    expect(job.get_by_role("heading")).to_have_text(dataset.name)
    with live_server.api() as api:
        model = api.get(f"/models/{jobs[0]['model_id']}").json()
    expect(job.locator("dd").nth(3)).to_have_text(model["name"])  # the model by name, not by id
    steps.shot("history")

    with page.expect_download() as info:
        job.get_by_role("link", name="Download notebook").click()
    assert info.value.path().read_bytes().startswith(b"{")

    delete = job.locator("button.danger")
    delete.click()
    expect(delete).to_have_text("Press again to delete")
    delete.click()
    expect(page.locator("li.job")).to_have_count(0)
    expect(page.locator("#history-list")).to_contain_text("No jobs yet")
    assert jobs_of(live_server, token) == []
    steps.shot("deleted")


def test_expired_session_asks_to_sign_in_again(page: Page, steps: Steps, live_server: LiveServer) -> None:
    open_app(page, live_server)
    # A token that the page accepted earlier and that has since run out.
    expired = mint_dev_token(
        DEV_JWT_SECRET, live_server.env["SUPABASE_URL"], "browser-expired-user", ttl=-120
    )
    page.evaluate("token => sessionStorage.setItem('slmgen.token', token)", expired)
    open_app(page, live_server)
    expect(page.locator("#account-status")).to_contain_text("Signed in")
    page.get_by_role("link", name="History").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_be_visible()
    expect(page.locator("#sign-in-error")).to_contain_text("expired")
    expect(page.locator("#account-status")).to_have_text("Not signed in")
    steps.shot("expired")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#history-list")).to_contain_text("Sign in to see")

    # Pasting an expired token is refused before it is stored.
    sign_in_with_token(page, expired)
    expect(page.locator("#sign-in-error")).to_contain_text("expired")
    assert page.evaluate("() => sessionStorage.getItem('slmgen.token')") is None


def test_deleted_dataset_shows_upload_again(page: Page, steps: Steps, live_server: LiveServer) -> None:
    token = live_server.token("browser-gone-user")
    open_app(page, live_server)
    sign_in_with_token(page, token)
    expect(page.locator("#account-status")).to_contain_text("Signed in")
    page.set_input_files("#file-input", str(shared_file("fastchat_dummy_conversation_with_system.json")))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    session_id = page.evaluate("() => document.body.dataset.sessionId")
    # Deleting the job elsewhere (another tab, the API) removes its dataset from the server.
    [job] = [j for j in jobs_of(live_server, token) if j["session_id"] == session_id]
    with live_server.api(token) as api:
        assert api.delete(f"/jobs/{job['id']}").status_code in (200, 204)
        gone = api.get(f"/preview/{session_id}")
    assert gone.status_code in (404, 410)
    page.locator("#page-next").click()
    expect(page.locator("#notice-message")).to_have_text(gone.json()["detail"])
    expect(page.locator("#notice-next")).to_contain_text("Upload the file again")
    steps.shot("dataset-gone")


@pytest.fixture(scope="module")
def supabase_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, FakeSupabase]]:
    fake = FakeSupabase(
        secret=DEV_JWT_SECRET,
        anon_key="anon-key-for-browser-tests",
        accounts=[Account("supabase-user-1", "ada@example.org", "correct horse battery")],
    ).start()
    server = start_server(
        tmp_path_factory.mktemp("browser-supabase"),
        ARTIFACTS / "server-supabase.log",
        SUPABASE_URL=fake.url,
        SUPABASE_ANON_KEY=fake.anon_key,
    )
    yield server, fake
    stop_server(server)
    fake.stop()


def test_supabase_password_sign_in(
    page: Page, steps: Steps, supabase_server: tuple[LiveServer, FakeSupabase]
) -> None:
    server, fake = supabase_server
    open_app(page, server)
    page.get_by_role("button", name="Sign in").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog.get_by_label("Email")).to_be_visible()
    expect(dialog.get_by_label("Development token")).to_be_hidden()

    dialog.get_by_label("Email").fill("ada@example.org")
    dialog.get_by_label("Password").fill("wrong password")
    dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_contain_text("Invalid login credentials")
    steps.shot("wrong-password")

    dialog.get_by_label("Password").fill("correct horse battery")
    dialog.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account-status")).to_have_text("Signed in as ada@example.org")
    expect(dialog).to_be_hidden()
    assert fake.requests[-1]["body"] == {"email": "ada@example.org", "password": "correct horse battery"}
    # The token came from the sign-in service and the app's real verifier accepts it.
    token = page.evaluate("() => sessionStorage.getItem('slmgen.token')")
    assert jobs_of(server, token) == []
    page.get_by_role("link", name="History").click()
    expect(page.locator("#history-list")).to_contain_text("No jobs yet")
    steps.shot("signed-in")

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#account-status")).to_have_text("Not signed in")
    expect(page.locator("#history-list")).to_contain_text("Sign in to see")
