"""The "Generate data" page against the real server (`slmgen serve`, its workers) and the stand-in
OpenAI-compatible server, at phone and laptop width: describe, seed, pick a provider and a mode, see the
estimate, start from the keyboard, watch rows arrive, cancel, then open the generated dataset's analysis."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    ANALYSIS_WAIT_MS,
    ARTIFACTS,
    LiveServer,
    Steps,
    horizontal_overflow,
    open_app,
    start_server,
    stop_server,
)
from tests.conftest import shared_file
from tests.generation.fake_llm import FakeLLM

pytestmark = pytest.mark.browser
TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
FORM_STOPS = ["gen-description", "gen-seeds", "gen-provider", "gen-mode", "gen-count", "gen-batch", "gen-start"]


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.hold_after = None
    server.release.set()
    server.stop()


@pytest.fixture(scope="module")
def gen_server(llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    providers = [{"name": "fake", "base_url": llm.base_url, "model": "fake-model", "label": "Stand-in model",
                  "prompt_price_per_1m": 1.0, "completion_price_per_1m": 2.0}]
    server = start_server(tmp_path_factory.mktemp("generate-data"), ARTIFACTS / "generate-server.log",
                          LLM_PROVIDERS=json.dumps(providers), LLM_LOCAL_ENABLED="true", GENERATION_WORKERS="1")
    yield server
    stop_server(server)


@pytest.fixture
def fake(llm: FakeLLM) -> Iterator[FakeLLM]:
    llm.hold_after = 1  # the first answer comes at once, the next ones when the test says
    llm.release.clear()
    llm.answered = 0
    llm.requests.clear()
    yield llm
    llm.hold_after = None
    llm.release.set()


def open_generate(page: Page, server: LiveServer) -> None:
    open_app(page, server)
    page.get_by_role("link", name="Generate data").click()
    expect(page.locator("#gen-heading")).to_be_focused()
    expect(page.locator("#gen-provider option")).to_have_count(2)


def tab_stops(page: Page, until: str, limit: int = 40) -> list[str]:
    """The ids the focus visits from the page heading, pressing Tab, until `until`."""
    page.locator("#gen-heading").focus()
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(str(page.evaluate("() => document.activeElement.id || document.activeElement.name || ''")))
        if seen[-1] == until:
            return seen
    raise AssertionError(f"Tab never reached #{until}: {seen}")


def test_generate_inputs_watch_rows_arrive_and_analyse_them(
        page: Page, steps: Steps, width: int, gen_server: LiveServer, fake: FakeLLM) -> None:
    open_generate(page, gen_server)
    # the embedded model is offered, labelled as the tiny model it is
    local = page.locator("#gen-provider option[value=local]")
    expect(local).to_contain_text("tiny")
    page.select_option("#gen-provider", "local")
    expect(page.locator("#gen-provider-note")).to_contain_text("not for data you will train on")
    page.select_option("#gen-provider", "fake")
    page.fill("#gen-description", "Questions customers ask a shoe shop")
    page.fill("#gen-seeds", "Do you have these in size 44?\nCan I return worn shoes?")
    page.fill("#gen-count", "12")
    page.select_option("#gen-mode", "CREATIVE")
    expect(page.locator("#gen-estimate")).to_contain_text(re.compile(r"Estimate: \d+ requests, .* about \$"))
    steps.shot("filled")
    stops = tab_stops(page, "gen-start")
    assert [s for s in stops if s in FORM_STOPS] == FORM_STOPS  # every field, in order, from the keyboard
    page.keyboard.press("Enter")  # Start, from the keyboard
    expect(page.locator("#gen-run-heading")).to_be_focused()
    # the first batch, while the job still runs (the first job also waits for the worker processes to start)
    expect(page.locator("#gen-rows li")).to_have_count(5, timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#gen-status")).to_contain_text("Running: 5 of 12 rows")
    expect(page.locator("#gen-usage")).to_contain_text("1 request, 100 prompt")
    steps.shot("rows-arriving")
    assert horizontal_overflow(page) <= 0
    fake.release.set()
    analyse = page.get_by_role("link", name="Analyse the generated dataset")
    expect(analyse).to_be_focused(timeout=60_000)
    expect(page.locator("#gen-rows li")).to_have_count(12)
    expect(page.locator("#gen-rows li").first).to_contain_text("input ")
    assert fake.requests[0]["body"]["temperature"] == 0.95  # CREATIVE's preset reached the provider
    steps.shot("done")
    assert horizontal_overflow(page) <= 0
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#dataset-name")).to_have_text("Generated inputs (12 rows)")
    expect(page.locator("#cards")).to_contain_text("12")
    steps.shot("analysed")
    assert horizontal_overflow(page) <= 0


def test_grow_an_uploaded_dataset_picked_as_seeds_and_cancel(
        page: Page, steps: Steps, width: int, gen_server: LiveServer, fake: FakeLLM, tmp_path: Path) -> None:
    open_app(page, gen_server)
    page.set_input_files("#file-input", str(shared_file(TOY)))  # the page remembers its uploads
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    page.get_by_role("link", name="Generate data").click()
    page.check("input[name=gen-kind][value=examples]")
    expect(page.locator("#gen-dataset-field")).to_be_visible()
    page.select_option("#gen-dataset", label=TOY)
    page.fill("#gen-description", "A tutor that explains physics simply")
    page.fill("#gen-seeds", "what is a lever? no arrow here")
    page.locator("#gen-start").click()
    expect(page.locator("#gen-seeds-error")).to_contain_text('Line 1 has no "=>"')  # said at its field
    expect(page.locator("#gen-seeds")).to_be_focused()
    page.fill("#gen-seeds", "What is a lever? => A bar that turns on a fixed point.")
    page.fill("#gen-count", "40")
    expect(page.locator("#gen-estimate")).to_contain_text("Estimate:")
    page.locator("#gen-start").click()
    expect(page.locator("#gen-rows li")).to_have_count(5, timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#gen-rows li").first).to_contain_text("assistant:")
    steps.shot("examples-arriving")
    assert horizontal_overflow(page) <= 0
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#gen-run-heading")).to_have_text("Generation cancelled", timeout=60_000)
    expect(page.get_by_role("link", name="Analyse the generated dataset")).to_be_hidden()
    expect(page.locator("#gen-rows li")).to_have_count(5)
    prompt = fake.requests[0]["body"]["messages"][-1]["content"]
    assert "A bar that turns on a fixed point." in prompt or '{"messages"' in prompt
    steps.shot("cancelled")
