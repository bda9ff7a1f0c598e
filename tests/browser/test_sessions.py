"""Sessions that persist: an address per analysis and step that survives a reload and opens for its owner;
the history reopens each job at its step, names the model, the notebook's contents and its link's expiry."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ANALYSIS_WAIT_MS, LiveServer, Steps, open_app, upload_via_api
from tests.browser.test_auth_history import sign_in_with_token
from tests.conftest import shared_file

pytestmark = pytest.mark.browser

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"


def card_value(page: Page, title: str) -> str:
    card = page.locator(".card", has=page.get_by_role("heading", name=title, exact=True))
    return card.locator(".card-value").inner_text()


def test_a_reload_keeps_the_analysis_and_the_step_reached(page: Page, steps: Steps, live_server: LiveServer) -> None:
    open_app(page, live_server)
    page.set_input_files("#file-input", str(shared_file(TOY)))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    session_id = page.evaluate("() => document.body.dataset.sessionId")
    assert page.url.endswith(f"#/dataset/{session_id}")
    page.reload()
    page.wait_for_selector("body[data-analysis=ready]")
    expect(page.locator("#dataset-name")).to_have_text(TOY)
    assert card_value(page, "Examples") == "5"
    steps.shot("reloaded")

    page.select_option("#task-type", "qa")
    page.select_option("#deployment-target", "desktop")
    page.get_by_role("button", name="Recommend models").click()
    expect(page.locator("li.model-card").first).to_be_visible()
    assert page.url.endswith(f"#/dataset/{session_id}?task=qa&target=desktop")
    first = page.locator("li.model-card").first
    model_id = first.get_attribute("data-model-id")
    first.get_by_role("button", name=re.compile("^Use ")).click()
    expect(page.locator("#train-section")).to_be_visible()
    assert page.url.endswith(f"?task=qa&target=desktop&model={model_id}")
    page.reload()
    page.wait_for_selector("body[data-analysis=ready]")
    expect(page.locator("#task-type")).to_have_value("qa")
    expect(page.locator("li.model-card").first).to_have_attribute("data-model-id", str(model_id))
    expect(page.locator("#train-section")).to_be_visible()
    expect(page.locator("#template-select")).to_have_value(str(model_id))
    steps.shot("reloaded-at-model")


def generate_in_page(page: Page, name: str, *, recommend: bool, model: bool) -> str:
    page.get_by_role("link", name="New dataset").click()
    page.set_input_files("#file-input", str(shared_file(name)))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    if recommend:
        page.select_option("#task-type", "summarization")
        page.get_by_role("button", name="Recommend models").click()
        expect(page.locator("li.model-card").first).to_be_visible()
    if model:
        page.locator("li.model-card").first.get_by_role("button", name=re.compile("^Use ")).click()
        page.fill("#train-max_steps", "30")
        page.get_by_role("button", name="Generate notebook").click()
        expect(page.locator("#download-link")).to_be_visible(timeout=60_000)
    return str(page.evaluate("() => document.body.dataset.sessionId"))


def test_history_reopens_each_job_at_its_step(page: Page, steps: Steps, live_server: LiveServer) -> None:
    token = live_server.token("browser-reopen-user", email="reopen@example.org")
    open_app(page, live_server)
    sign_in_with_token(page, token)
    expect(page.locator("#account-status")).to_contain_text("Signed in")
    analysed = generate_in_page(page, "llamafactory_pr5606_openai_training_data_blank_lines.jsonl",
                                recommend=False, model=False)
    ranked = generate_in_page(page, "llamafactory_pr5606_oai_same10_as_json_array.json", recommend=True, model=False)
    generated = generate_in_page(page, TOY, recommend=True, model=True)
    with live_server.api(token) as api:
        jobs: list[dict[str, Any]] = api.get("/jobs").json()
        models = {m["model_id"]: m["name"] for m in api.get("/models").json()}
    assert [j["session_id"] for j in jobs] == [generated, ranked, analysed]
    notebook_job = jobs[0]

    page.get_by_role("link", name="History").click()
    rows = page.locator("li.job")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator(".reopen")).to_have_text("Reopen its notebook")
    expect(rows.nth(1).locator(".reopen")).to_have_text("Reopen its model ranking")
    expect(rows.nth(2).locator(".reopen")).to_have_text("Reopen its analysis")
    facts = dict(zip(rows.nth(0).locator("dt").all_inner_texts(), rows.nth(0).locator("dd").all_inner_texts(),
                     strict=True))
    assert facts["Model"] == models[notebook_job["model_id"]]
    assert facts["Task"] == "Summarization"
    assert facts["Notebook"] == f"{notebook_job['notebook_examples']} examples" == "5 examples"
    expires = page.evaluate(
        "(v) => new Date(v).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })",
        notebook_job["notebook_expires_at"])
    assert facts["Download link works until"] == f"{expires} for others; always for you while signed in"
    steps.shot("history")

    rows.nth(0).locator(".reopen").click()
    expect(page.locator("#train-section")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#train-max_steps")).to_have_value("30")  # the job's own settings
    expect(page.locator("#generate-result")).to_contain_text("The notebook generated for this job")
    expect(page.locator("#download-link")).to_have_attribute("href", notebook_job["download_url"])
    expect(page.locator("#task-type")).to_have_value("summarization")
    steps.shot("reopened-notebook")

    page.get_by_role("link", name="History").click()
    rows.nth(1).locator(".reopen").click()
    expect(page.locator("li.model-card").first).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#dataset-name")).to_have_text("llamafactory_pr5606_oai_same10_as_json_array.json")
    expect(page.locator("#train-section")).to_be_hidden()
    page.get_by_role("link", name="History").click()
    rows.nth(2).locator(".reopen").click()
    page.wait_for_selector("body[data-analysis=ready]")
    expect(page.locator("#dashboard")).to_be_visible()
    expect(page.locator("li.model-card")).to_have_count(0)
    steps.shot("reopened-analysis")

    # Deleting a job keeps the focus in the list, on the next job.
    page.get_by_role("link", name="History").click()
    expect(rows).to_have_count(3)
    delete = rows.nth(0).locator("button.danger")
    delete.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("button.danger")).to_be_focused()
    expect(page.locator("#history-status")).to_have_text(f"Deleted the job for {TOY}.")


def test_a_shared_address_opens_for_its_owner_once_signed_in(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    token = live_server.token("browser-owner-user", email="owner@example.org")
    session_id = upload_via_api(live_server, TOY, token)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.base_url}/#/dataset/{session_id}")  # a new tab: not signed in
    expect(page.get_by_role("dialog", name="Sign in")).to_be_visible(timeout=30_000)
    expect(page.locator("#sign-in-error")).to_contain_text("sign in as its owner")
    expect(page.locator("#notice-message")).to_contain_text("No upload with this session id")
    steps.shot("asked-to-sign-in")
    page.get_by_label("Development token").fill(token)
    page.get_by_role("button", name="Use this token").click()
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#notice")).to_be_hidden()
    expect(page.locator("#dataset-name")).to_have_text(TOY)  # the owner's job names the file
    steps.shot("opened-by-owner")


def test_the_file_name_after_a_reload_comes_from_the_server(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    # Uploaded elsewhere (through the API, under a name of its own): this browser has never seen the name, so
    # the heading can only come from GET /analyze's `filename`, never from the browser's storage.
    name = f"renamed at {width} px ✓.jsonl"
    with live_server.api() as api:
        answer = api.post("/upload", files={"file": (name, shared_file(TOY).read_bytes())})
        session_id = answer.json()["session_id"]
    page.goto(f"{live_server.base_url}/#/dataset/{session_id}")
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#dataset-name")).to_have_text(name)
    page.reload()
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#dataset-name")).to_have_text(name)
    assert page.evaluate("() => localStorage.length") == 0  # nothing kept in the browser for it
    steps.shot("name-after-reload")
