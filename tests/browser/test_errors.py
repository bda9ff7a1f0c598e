"""Bad input shown plainly in the browser: each error says what happened and what to do next."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, Route, expect

from tests.browser.conftest import MAX_UPLOAD_BYTES, LiveServer, Steps, open_app
from tests.conftest import shared_file

pytestmark = pytest.mark.browser


def test_git_lfs_pointer_is_reported_as_not_a_dataset(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    path = shared_file("messy_llamafactory_alpaca_data_en_52k_git_lfs_pointer.json")
    with live_server.api() as api:
        uploaded = api.post("/upload", files={"file": (path.name, path.read_bytes())})
        if uploaded.status_code == 200:  # refused during analysis rather than at upload
            session = uploaded.json()["session_id"]
            while (answer := api.get(f"/analyze/{session}")).status_code == 202:
                pass
        else:
            answer = uploaded
    error = answer.json()
    assert answer.status_code == 422 and error["error"] == "not_a_dataset"

    open_app(page, live_server)
    page.set_input_files("#file-input", str(path))
    notice = page.locator("#notice")
    expect(notice).to_be_visible(timeout=60_000)
    expect(page.locator("#notice-message")).to_have_text(error["detail"])
    expect(page.locator("#notice-next")).not_to_be_empty()
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.locator("#progress-status")).to_contain_text("could not be analysed")
    steps.shot("not-a-dataset")

    # The page keeps working: the next, good file is analysed and the error goes away.
    page.set_input_files("#file-input", str(shared_file("llamafactory_pr5606_oai_same10_as_json_array.json")))
    expect(page.locator("#dashboard")).to_be_visible(timeout=120_000)
    expect(notice).to_be_hidden()
    steps.shot("recovered")


def test_too_large_file_is_refused_with_the_limit(
    page: Page, steps: Steps, live_server: LiveServer, tmp_path: Path
) -> None:
    # Real records repeated past the server's limit: a real dataset, just too big for this server.
    record = shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl").read_bytes()
    big = tmp_path / "too_big.jsonl"
    big.write_bytes(record * (MAX_UPLOAD_BYTES // len(record) + 2))
    open_app(page, live_server)
    page.set_input_files("#file-input", str(big))
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator("#notice-message")).to_contain_text(re.compile(r"(limit|too large)", re.IGNORECASE))
    expect(page.locator("#notice-next")).to_contain_text("smaller file")
    steps.shot("too-large")


def test_server_refusal_of_an_oversized_upload(page: Page, live_server: LiveServer) -> None:
    # The page checks the size first, but the server is the authority: without the page's check the
    # server's own 413 answer reaches the person as a sentence.
    record = shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl").read_bytes()
    page.route("**/config", lambda route: route.fulfill(json={"auth_mode": "development"}))
    open_app(page, live_server)
    expect(page.locator("#upload-limit")).to_have_text("")
    payload: FilePayload = {
        "name": "too_big.jsonl",
        "mimeType": "application/jsonl",
        "buffer": record * (MAX_UPLOAD_BYTES // len(record) + 2),
    }
    page.set_input_files("#file-input", files=payload)
    expect(page.locator("#notice")).to_be_visible(timeout=60_000)
    with live_server.api() as api:
        refused = api.post("/upload", files={"file": (payload["name"], payload["buffer"])})
    assert refused.status_code == 413
    expect(page.locator("#notice-message")).to_have_text(refused.json()["detail"])


def test_network_error_is_explained(page: Page, steps: Steps, live_server: LiveServer) -> None:
    open_app(page, live_server)

    def drop_connection(route: Route) -> None:
        route.abort("connectionreset")

    page.route("**/upload", drop_connection)
    page.set_input_files("#file-input", str(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl")))
    expect(page.locator("#notice-message")).to_contain_text("network error")
    expect(page.locator("#notice-next")).to_contain_text("try again")
    steps.shot("network-error")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("#notice")).to_be_hidden()

    page.unroute("**/upload")
    page.set_input_files("#file-input", str(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl")))
    expect(page.locator("#dashboard")).to_be_visible(timeout=120_000)
