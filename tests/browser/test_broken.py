"""The six things a new user found broken, each checked at phone (390 px) and laptop (1366 px) width."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, Response, Route, expect

from tests.browser.conftest import (
    ANALYSIS_WAIT_MS,
    LiveServer,
    Steps,
    horizontal_overflow,
    open_app,
    open_dataset,
)
from tests.conftest import shared_file

pytestmark = pytest.mark.browser

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"
ALPACA = "llamafactory_alpaca_en_demo.json"
LFS = "messy_llamafactory_alpaca_data_en_52k_git_lfs_pointer.json"
GENERIC_ADVICE = "Check the values you entered and try again."


def test_nothing_is_wider_than_the_screen_on_any_shared_dataset(
    page: Page, steps: Steps, width: int, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    # The tool-call file (the one that broke the phone layout) through the file chooser, the rest by address.
    open_app(page, live_server)
    page.set_input_files("#file-input", str(shared_file(GLAIVE)))
    expect(page.locator("#preview-list article.example").first).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    for name, session_id in [(GLAIVE, None), *((n, s) for n, s in analysed.items() if n != GLAIVE)]:
        if session_id is not None:
            page.goto(f"{live_server.base_url}/#/dataset/{session_id}")
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_function(
                "() => document.body.dataset.analysis === 'ready' || !document.querySelector('#notice').hidden",
                timeout=ANALYSIS_WAIT_MS)
        # open what can be opened: tool schemas, long messages, the first group of each duplicate kind
        for details in page.locator("#preview-list details.tools").all():
            details.locator("summary").click()
        for button in page.locator("#preview-list button.show-all").all():
            button.click()
        too_wide = horizontal_overflow(page)
        assert too_wide <= 0, f"{name}: the examples make the page {too_wide} px too wide"
        for kind in page.locator(".dup-kind").all():
            compare = kind.get_by_role("button", name="Compare side by side")
            if compare.count():
                compare.first.click()
                expect(kind.locator(".compare-view").first).not_to_be_empty()
        if width < 600:
            steps.shot(name.split(".")[0][:40])
        assert horizontal_overflow(page) <= 0, f"{name}: the page is {horizontal_overflow(page)} px too wide"


def test_an_invalid_setting_is_named_at_its_field_as_it_is_typed(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    generate_calls: list[str] = []
    page.on("request", lambda r: generate_calls.append(r.url) if r.url.endswith("/generate") else None)
    open_app(page, live_server)
    page.set_input_files("#file-input", str(shared_file(TOY)))
    page.get_by_role("button", name="Recommend models").click(timeout=ANALYSIS_WAIT_MS)
    page.locator("li.model-card").first.get_by_role("button", name=re.compile("^Use ")).click()
    field = page.locator("#train-learning_rate")
    expect(field).to_be_visible()
    field.fill("5")
    # said at once, next to the field, with the field's range: before anything is sent
    expect(page.locator("#train-learning_rate-error")).to_have_text(
        "Learning rate must be more than 0 and at most 0.01; you entered 5."
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    steps.shot("typed", full_page=False)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.get_by_role("button", name="Generate notebook").click()
    expect(field).to_be_focused()
    box = field.bounding_box()
    assert box is not None and 0 <= box["y"] <= page.viewport_size["height"] - box["height"]  # type: ignore[index]
    expect(page.locator("#notice")).to_be_hidden()
    assert generate_calls == []
    field.fill("0.0002")
    expect(page.locator("#train-learning_rate-error")).to_be_hidden()
    expect(field).not_to_have_attribute("aria-invalid", "true")

    # A page without the server's bounds (an older /config) sends the value; the server's refusal lands
    # at the field the same way, not in a box at the top of the page.
    page.route("**/config", lambda route: route.fulfill(json={
        k: v for k, v in route.fetch().json().items() if k != "training_limits"}))
    page.reload()
    page.wait_for_selector("#train-lora_rank")
    page.fill("#train-lora_rank", "0")
    expect(page.locator("#train-lora_rank-error")).to_be_hidden()
    page.get_by_role("button", name="Generate notebook").click()
    expect(page.locator("#train-lora_rank-error")).to_contain_text("LoRA rank")
    expect(page.locator("#train-lora_rank-error")).to_contain_text("greater than or equal to 1")
    expect(page.locator("#train-lora_rank")).to_be_focused()
    expect(page.locator("#notice")).to_be_hidden()
    assert len(generate_calls) == 1
    steps.shot("server-refusal", full_page=False)


def test_next_starts_the_new_page_at_the_top_with_pagers_above_and_below(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    open_app(page, live_server)
    page.set_input_files("#file-input", str(shared_file(ALPACA)))
    expect(page.locator("#preview-list article.example").first).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    for status in ("#page-status-top", "#page-status"):
        expect(page.locator(status)).to_have_text("Page 1 of 200 (999 examples)")
    page.locator("#page-next").scroll_into_view_if_needed()
    page.locator("#page-next").click()
    expect(page.locator("#page-status")).to_have_text("Page 2 of 200 (999 examples)")
    first = page.locator("#record-5")
    expect(first).to_be_focused()
    top = page.evaluate("() => document.querySelector('#record-5').getBoundingClientRect().top")
    assert 0 <= top <= page.viewport_size["height"] / 2, top  # type: ignore[index]
    steps.shot("page-2", full_page=False)
    page.locator("#page-prev-top").click()
    expect(page.locator("#page-status-top")).to_have_text("Page 1 of 200 (999 examples)")

    page.fill("#goto-record", "503")
    page.keyboard.press("Enter")
    record = page.locator("#record-503")
    expect(record).to_be_focused()
    expect(record).to_have_class("example highlighted")
    expect(page.locator("#page-status")).to_have_text("Page 101 of 200 (999 examples)")
    page.fill("#goto-record", "5000")
    page.keyboard.press("Enter")
    expect(page.locator("#goto-error")).to_contain_text("There is no record #5000")
    expect(page.locator("#goto-error")).to_contain_text("Enter a record number from 0")
    expect(page.locator("#goto-record")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#notice")).to_be_hidden()
    steps.shot("goto", full_page=False)


def test_a_failed_second_upload_leaves_no_old_dashboard(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    open_app(page, live_server)
    page.set_input_files("#file-input", str(shared_file(TOY)))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    first_session = page.evaluate("() => document.body.dataset.sessionId")
    page.set_input_files("#file-input", str(shared_file(LFS)))
    expect(page.locator("#notice")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#dashboard")).to_be_hidden()
    expect(page.locator("#recommend-section")).to_be_hidden()
    expect(page.locator("#progress-status")).to_have_text(f"{LFS} could not be analysed.")
    assert first_session not in page.url  # the address no longer names the first file's analysis
    steps.shot("second-upload-failed")


def _progress_log(page: Page) -> None:
    # Every value the analysis bar takes, and whether it was indeterminate (no value), in order.
    page.add_init_script("""
        window.progressLog = [];
        new MutationObserver(() => {
            const bar = document.querySelector('#analysis-progress');
            if (bar) window.progressLog.push(bar.getAttribute('value'));
        }).observe(document, { subtree: true, attributes: true, attributeFilter: ['value'] });
    """)


CRAFTED_202 = [  # what the task engine's GET /analyze/{id} answers while it works (crafted stand-ins)
    {"status": "queued", "progress": 0.0, "task_id": "stand-in-task", "detailed_status": ["Queued"]},
    {"status": "analyzing", "progress": 0.25, "task_id": "stand-in-task",
     "detailed_status": ["Queued", "Reading part 1 of 4"],
     "partial": {"chunks": 1, "records": 250, "examples": 248, "tokens": 51234, "assistant_tokens": 20001,
                 "unusable": 2, "issues": {"short_reply": 3, "pii_email": 0}}},
    {"status": "analyzing", "progress": 0.6, "task_id": "stand-in-task",
     "detailed_status": ["Queued", "Reading part 1 of 4", "Reading part 3 of 4"],
     "partial": {"chunks": 3, "records": 600, "examples": 597, "tokens": 123456, "assistant_tokens": 50002,
                 "unusable": 3, "issues": {"short_reply": 7}}},
]


def test_the_progress_bar_shows_the_engines_fraction_and_running_figures(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    stage = [0]

    def engine_stand_in(route: Route) -> None:
        """Answers GET /analyze with the crafted 202 body of the current stage, then lets the real one through."""
        if route.request.method != "GET" or stage[0] >= len(CRAFTED_202):
            route.continue_()
            return
        session_id = route.request.url.rsplit("/", 1)[-1]
        body = {"session_id": session_id, "message": "stand-in", **CRAFTED_202[stage[0]]}
        route.fulfill(status=202, content_type="application/json", body=json.dumps(body))

    open_app(page, live_server)
    page.route("**/analyze/*", engine_stand_in)
    page.set_input_files("#file-input", str(shared_file(TOY)))
    bar = page.locator("#analysis-progress")
    expect(page.locator("#progress-status")).to_contain_text(re.compile("waiting for a worker", re.IGNORECASE))
    assert bar.get_attribute("value") is None  # indeterminate while queued: no 0% that then jumps
    expect(page.locator("#progress-status")).not_to_contain_text("0%")
    stage[0] = 1
    expect(bar).to_have_attribute("value", "0.25")
    figures = page.locator("#partial-figures")
    expect(figures.locator("dd[data-figure=records]")).to_have_text("250")
    expect(figures.locator("dd[data-figure=tokens]")).to_have_text("51,234")
    expect(figures.locator("dd[data-figure=unusable]")).to_have_text("2")
    expect(figures.locator("dd[data-figure=issues]")).to_have_text("Short reply: 3")
    expect(page.locator("#progress-status")).to_contain_text("25% done (Reading part 1 of 4)")
    steps.shot("quarter", full_page=False)
    stage[0] = 2
    expect(bar).to_have_attribute("value", "0.6")
    expect(figures.locator("dd[data-figure=records]")).to_have_text("600")
    stage[0] = 3
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    expect(bar).to_have_attribute("value", "1")
    expect(figures).to_be_hidden()


def test_the_progress_bar_shows_the_real_servers_fraction(
    page: Page, width: int, live_server: LiveServer
) -> None:
    responses: list[Response] = []
    streams: list[Response] = []
    page.on("response", lambda r: responses.append(r) if "/analyze/" in r.url and r.status == 202 else None)
    page.on("response", lambda r: streams.append(r) if r.url.endswith("/events") and r.status == 200 else None)
    _progress_log(page)
    open_app(page, live_server)
    page.set_input_files("#file-input", str(shared_file(ALPACA)))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    log = [v for v in page.evaluate("() => window.progressLog") if v is not None]
    bodies: list[dict[str, Any]] = [r.json() for r in responses]
    served = {str(b["progress"]) for b in bodies if b["progress"] > 0}
    # the task's events: each part's fraction, capped below 1 until the report (as the 202 body caps it)
    for stream in streams:
        for line in stream.text().splitlines():
            if line.startswith("data: ") and '"fraction"' in line:
                fraction = json.loads(line[6:])["fraction"]
                if fraction:
                    served.add(str(min(0.99, fraction)))
    # every value shown is one the server sent (or 1 at the end); never a made-up 0
    assert streams and log and log[-1] == "1" and set(log) <= served | {"1"}, (log, served)
    assert [float(v) for v in log] == sorted(float(v) for v in log)


def test_each_error_says_its_own_next_step(
    page: Page, steps: Steps, width: int, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    advice: dict[str, str] = {}
    open_app(page, live_server)
    empty: FilePayload = {"name": "empty.jsonl", "mimeType": "application/jsonl", "buffer": b""}
    page.set_input_files("#file-input", files=empty)
    expect(page.locator("#notice-message")).to_contain_text("is empty")
    advice["empty file"] = page.locator("#notice-next").inner_text()
    assert advice["empty file"] != GENERIC_ADVICE and "no content" in advice["empty file"]
    page.set_input_files("#file-input", str(shared_file(LFS)))
    expect(page.locator("#notice-message")).to_contain_text("LFS", timeout=ANALYSIS_WAIT_MS)
    advice["not a dataset"] = page.locator("#notice-next").inner_text()
    steps.shot("not-a-dataset", full_page=False)
    page.goto(f"{live_server.base_url}/#/dataset/no-such-session-anywhere")
    expect(page.locator("#notice-message")).to_contain_text("No upload with this session id")
    advice["unknown session"] = page.locator("#notice-next").inner_text()
    expect(page.get_by_role("dialog", name="Sign in")).to_be_visible()  # it may be someone's own: sign in
    page.get_by_role("button", name="Cancel").click()
    open_dataset(page, live_server, analysed[TOY])
    expect(page.locator("#notice")).to_be_hidden()  # the earlier error went away with the new analysis
    with live_server.api() as api:
        gone = api.get(f"/preview/{analysed[TOY]}", params={"at_record": 99})
    page.fill("#goto-record", "99")
    page.keyboard.press("Enter")
    expect(page.locator("#goto-error")).to_have_text(f"{gone.json()['detail']} Enter a record number from 0 up to "
                                                      "the last record of the file.")
    advice["record out of range"] = page.locator("#goto-error").inner_text()
    assert GENERIC_ADVICE not in advice.values()
    assert len(set(advice.values())) == len(advice), advice
    assert "no content" in advice["empty file"] and "dataset itself" in advice["not a dataset"]
    assert "Upload the file again" in advice["unknown session"] and "sign in" in advice["unknown session"]
