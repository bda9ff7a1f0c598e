"""Recommendations (the top 5 and the rest on request, ties explained, a suggested max_seq_length one click
away, the language banner and task names in words) and Colab (a real link with a GitHub token, through a
stand-in for GitHub's gist API; otherwise one short set of steps)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, LiveServer, Steps, open_dataset, start_server, stop_server, upload_via_api
from tests.browser.fake_github import FakeGitHub

pytestmark = pytest.mark.browser

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
KTO = "llamafactory_kto_en_demo.json"
MODEL = "qwen2.5-0.5b-instruct"


def ranking(server: LiveServer, session_id: str, task: str, target: str) -> dict[str, Any]:
    with server.api() as api:
        answer = api.post("/recommend", json={"session_id": session_id, "task_type": task, "deployment_target": target})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_top_five_then_all_with_ties_explained_and_the_length_offer(
    page: Page, steps: Steps, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    session_id = analysed[TOY]
    recs = ranking(live_server, session_id, "conversation", "cloud")["recommendations"]
    open_dataset(page, live_server, session_id, "?task=conversation&target=cloud")
    cards = page.locator("li.model-card")
    expect(cards).to_have_count(len(recs))
    expect(page.locator("li.model-card:visible")).to_have_count(5)
    steps.shot("top-five", full_page=False)
    page.get_by_role("button", name=f"Show all {len(recs)} ranked models").click()
    expect(page.locator("li.model-card:visible")).to_have_count(len(recs))
    expect(cards.nth(5).locator("button.primary")).to_be_focused()

    # Cards showing the same score out of 100 say why one ranks above the other (the page rounds as JS does).
    def js_round(value: float) -> int:
        return math.floor(value + 0.5)

    shown = [js_round(r["score"] * 100) for r in recs]
    pairs = [(i, j) for i in range(len(recs)) for j in range(len(recs))
             if i != j and shown[i] == shown[j] and recs[i]["rank"] < recs[j]["rank"]]
    assert pairs, "the cookbook file gives equal shown scores for this choice"
    for i, j in pairs:
        upper, lower = recs[i], recs[j]
        if js_round(upper["score"] * 1000) != js_round(lower["score"] * 1000):
            why = "its score is higher before rounding"
        elif upper["params_b"] != lower["params_b"]:
            why = f"equal score, and {upper['model_name']} is smaller"
        else:
            why = "equal score and size, so the ids in alphabetical order"
        expect(cards.nth(i).locator(".tie-note")).to_contain_text(
            re.compile(rf"above {re.escape(lower['model_name'])} \(#{lower['rank']}\): {re.escape(why)}"))
        expect(cards.nth(j).locator(".tie-note")).to_contain_text(
            re.compile(rf"below {re.escape(upper['model_name'])} \(#{upper['rank']}\): {re.escape(why)}"))
    unique = [k for k in range(len(recs)) if shown.count(shown[k]) == 1]
    if unique:
        expect(cards.nth(unique[0]).locator(".tie-note")).to_have_count(0)

    with live_server.api() as api:
        defaults = {m["model_id"]: m["defaults"]["max_seq_length"] for m in api.get("/models").json()}
    offered = next(r for r in recs if r["suggested_max_seq_length"] > defaults[r["model_id"]])
    card = page.locator(f"li.model-card[data-model-id='{offered['model_id']}']")
    card.locator("button.apply-length").click()
    expect(page.locator("#train-section")).to_be_visible()
    expect(page.locator("#train-max_seq_length")).to_have_value(str(offered["suggested_max_seq_length"]))
    assert f"model={offered['model_id']}&max_seq_length={offered['suggested_max_seq_length']}" in page.url
    steps.shot("length-applied", full_page=False)


def test_language_banner_has_no_zero_percent_and_tasks_read_as_words(
    page: Page, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    open_dataset(page, live_server, analysed[KTO], "?task=tool_calling&target=cloud")
    banner = page.get_by_role("list", name="About your data")
    expect(banner).to_contain_text("Non-English data (hi 1%, ar 0.7%, fr 0.3%, zh 0.3%)")
    expect(banner).not_to_contain_text(" 0%")
    text = page.locator("#recommendations").inner_text()
    assert "tool_calling" not in text and "tool calling" in text
    expect(page.locator("#recommend-status")).to_contain_text("for tool / function calling")


@pytest.fixture(scope="module")
def github_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, FakeGitHub]]:
    fake = FakeGitHub(token="ghp_browser_test_token").start()
    server = start_server(tmp_path_factory.mktemp("browser-github"), ARTIFACTS / "server-github.log",
                          GITHUB_TOKEN=fake.token, GITHUB_API_URL=fake.url)
    yield server, fake
    stop_server(server)
    fake.stop()


def generate(page: Page, server: LiveServer, session_id: str) -> None:
    open_dataset(page, server, session_id, f"?model={MODEL}")
    page.get_by_role("button", name="Generate notebook").click()
    expect(page.locator("#download-link")).to_be_visible(timeout=60_000)


def test_a_github_token_gives_a_real_colab_link(
    page: Page, steps: Steps, github_server: tuple[LiveServer, FakeGitHub]
) -> None:
    server, fake = github_server
    generate(page, server, upload_via_api(server, TOY))
    [gist] = fake.gists
    name = f"slmgen_{MODEL}_openai_cookbook_toy_chat_fine_tuning.ipynb"  # the model size kept: qwen2.5-0.5b
    assert list(gist["files"]) == [name] and gist["public"] is False
    expect(page.locator("#colab-link")).to_have_attribute(
        "href", f"https://colab.research.google.com/gist/{fake.owner}/{gist['id']}")
    expect(page.locator(".colab-steps")).to_have_count(0)
    with page.expect_download() as info:
        page.locator("#download-link").click()
    assert info.value.suggested_filename == name
    assert info.value.path().read_text(encoding="utf-8") == gist["files"][name]["content"]
    steps.shot("colab-link", full_page=False)


def test_without_a_token_one_short_set_of_steps(
    page: Page, steps: Steps, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    generate(page, live_server, analysed[TOY])
    expect(page.locator("#colab-link")).to_have_count(0)
    colab = page.locator(".colab-steps")
    expect(colab.locator("li")).to_have_count(3)
    expect(colab.get_by_role("link", name="colab.research.google.com")).to_have_attribute(
        "href", "https://colab.research.google.com/")
    expect(colab.locator("p")).to_have_count(0)  # no second, repeated set of instructions
    expect(page.locator(".notebook-contents")).to_have_text("The notebook trains on 5 examples.")
    steps.shot("colab-steps", full_page=False)
