"""Datasets out in the page, against the real server (`slmgen serve`, its workers) and the stand-in Hub: from the
axolotl duplicates file to a deduplicated version, downloaded in each format, pushed with a card and splits,
appended to, and imported back; at a phone's and a laptop's width, and from the keyboard."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    ANALYSIS_WAIT_MS,
    ARTIFACTS,
    LiveServer,
    Steps,
    horizontal_overflow,
    open_app,
    open_dataset,
    start_server,
    stop_server,
    upload_via_api,
)
from tests.conftest import shared_file
from tests.support.hub_fixtures import READ_BACK, TOKENS
from tests.support.hub_standin import HubStandIn

pytestmark = pytest.mark.browser

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
FORMATS = {"canonical": "Canonical JSONL", "openai": "OpenAI messages", "sharegpt": "ShareGPT", "alpaca": "Alpaca"}
TOKEN = "alice-write"
TASK_WAIT_MS = 120_000


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandIn]:
    standin = HubStandIn(tokens=dict(TOKENS)).start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def hub_server(hub: HubStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The server's workers talk to the stand-in Hub, which speaks the classic LFS upload protocol (not Xet).
    server = start_server(tmp_path_factory.mktemp("datasets-out-data"), ARTIFACTS / "datasets-out-server.log",
                          HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1")
    yield server
    stop_server(server)


def read_back(hub: HubStandIn, repo: str, home: Path) -> dict[str, Any]:
    """The repo as `datasets.load_dataset` and `DatasetCard.load` see it, in a fresh process (nothing cached)."""
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(home), "HF_HUB_DISABLE_XET": "1",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    done = subprocess.run([sys.executable, "-c", READ_BACK, repo, TOKEN], env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def session_id(page: Page) -> str:
    return str(page.evaluate("() => document.body.dataset.sessionId"))


def examples_shown(page: Page) -> str:
    card = page.locator(".card", has=page.get_by_role("heading", name="Examples", exact=True))
    return card.locator(".card-value").inner_text()


def no_overflow(page: Page) -> None:
    assert horizontal_overflow(page) <= 0, f"the page is wider than the screen by {horizontal_overflow(page)} px"


def push(page: Page, repo: str, *, token: str | None, append: bool = False) -> None:
    page.locator("#push-mode-append" if append else "#push-mode-push").check()
    page.fill("#push-repo", repo)
    page.fill("#push-token", token or "")
    page.click("#push-button")


@pytest.mark.parametrize("width", [390, 1366], ids=lambda w: f"{w}px")
def test_from_duplicates_to_the_hub_and_back_in_the_page(page: Page, steps: Steps, hub_server: LiveServer,
                                                          hub: HubStandIn, width: int, tmp_path: Path) -> None:
    page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
    open_app(page, hub_server)
    page.set_input_files("#file-input", str(shared_file(AXOLOTL)))
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    original = session_id(page)
    assert examples_shown(page) == "1,000"

    # Fix: count first (Apply waits for the counts of exactly this choice), then make the new version.
    expect(page.locator("#fix-drop_exact_duplicates")).to_be_checked()  # the analysis found exact duplicates
    page.check("#fix-drop_near_duplicates")
    expect(page.locator("#fix-apply")).to_have_attribute("aria-disabled", "true")
    page.click("#fix-plan-button")
    expect(page.locator("#fix-plan caption")).to_have_text("1,000 examples now, 49 in the fixed version")
    rows = page.locator("#fix-plan tbody tr")
    expect(rows).to_have_count(2)
    assert [r.locator("td").all_inner_texts() for r in rows.all()] == [
        ["1,000", "60", "940 removed"], ["60", "49", "11 removed"]]
    no_overflow(page)
    page.locator("#fix-panel").scroll_into_view_if_needed()
    steps.shot("fix-counted", full_page=False)
    page.click("#fix-apply")
    page.wait_for_function("(old) => document.body.dataset.sessionId && document.body.dataset.sessionId !== old",
                           arg=original, timeout=TASK_WAIT_MS)
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    fixed = session_id(page)
    assert page.url.endswith(f"#/dataset/{fixed}")  # the new version at its own address
    expect(page.locator("#dataset-name")).to_have_text("axolotl_pr3685_epoch_sample_1000_messages_dups.fixed.jsonl")
    assert examples_shown(page) == "49"
    steps.shot("fixed-version")

    # Download it in each format (the last one gzipped): every line one of the 49 examples.
    for fmt, label in FORMATS.items():
        if fmt == "alpaca":
            page.check("#export-gzip")
        with page.expect_download() as info:
            page.get_by_role("button", name=label, exact=True).click()
        download = info.value
        data = Path(download.path()).read_bytes()
        lines = (gzip.decompress(data) if fmt == "alpaca" else data).splitlines()
        assert len(lines) == 49 and all(isinstance(orjson.loads(line), dict) for line in lines), fmt
        suffix = ".jsonl.gz" if fmt == "alpaca" else ".jsonl"
        assert download.suggested_filename.endswith(f".{fmt}{suffix}")
    expect(page.locator("#export-status")).to_contain_text("Downloaded")

    # Push: without a token the panel says what to do; with one, the task's progress, then the repo's link.
    repo = f"alice/clean-{width}"
    push(page, repo, token=None)
    expect(page.locator("#push-status")).to_contain_text("Paste a Hugging Face access token")
    push(page, repo, token=TOKEN)
    expect(page.locator("#push-token")).to_have_value("")  # the page does not keep it
    link = page.locator("#push-repo-link")
    expect(link).to_be_visible(timeout=TASK_WAIT_MS)
    assert link.get_attribute("href") == f"{hub.url}/datasets/{repo}"
    kept = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}, location.href])")
    assert TOKEN not in kept
    back = read_back(hub, repo, tmp_path / "hf-home")
    counts = {name: len(split) for name, split in back["splits"].items()}
    assert list(counts) == ["train", "validation", "test"] and sum(counts.values()) == 49
    expect(page.locator("#push-result")).to_contain_text(
        f"Pushed 49 examples to {repo} (train {counts['train']} · validation {counts['validation']} · "
        f"test {counts['test']}), private, with a dataset card.")
    assert {s["name"]: s["num_examples"] for s in back["card"]["dataset_info"]["splits"]} == counts
    assert "(940 removed)" in back["text"]
    no_overflow(page)
    page.locator("#push-result").scroll_into_view_if_needed()
    steps.shot("pushed", full_page=False)

    # Append the original's examples to train: only the 11 near-duplicates are new to the repo.
    open_dataset(page, hub_server, original)
    push(page, repo, token=TOKEN, append=True)
    expect(page.locator("#push-result")).to_contain_text(
        f"Added 11 examples to train of {repo} (989 left out: the repo already had them)", timeout=TASK_WAIT_MS)
    train = counts["train"] + 11
    assert len(read_back(hub, repo, tmp_path / "hf-home-2")["splits"]["train"]) == train
    steps.shot("appended")

    # Import it back, beside the upload: a new dataset, analysed like an upload.
    page.goto(f"{hub_server.base_url}/#/")
    page.click("#hub-import summary")
    page.fill("#import-repo", repo)
    page.fill("#import-token", TOKEN)
    page.click("#import-button")
    page.wait_for_function("(old) => document.body.dataset.sessionId && document.body.dataset.sessionId !== old",
                           arg=fixed, timeout=TASK_WAIT_MS)
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#dataset-name")).to_have_text(f"{repo} (train)")
    assert examples_shown(page) == str(train)
    no_overflow(page)
    steps.shot("imported")


MAX_PRESSES = 80  # a guard against a focus loop, not a target


def tab_to(page: Page, selector: str, key: str = "Tab") -> None:
    for _ in range(MAX_PRESSES):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} was not reached with {key}")


@pytest.mark.parametrize("width", [390, 1366], ids=lambda w: f"{w}px")
def test_the_panels_work_from_the_keyboard(page: Page, steps: Steps, hub_server: LiveServer, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844 if width < 600 else 900})
    toy = upload_via_api(hub_server, "openai_cookbook_toy_chat_fine_tuning.jsonl")
    open_dataset(page, hub_server, toy)
    heading = page.locator("#datasets-out-heading")
    heading.evaluate("(n) => n.setAttribute('tabindex', '-1')")
    heading.focus()  # a starting point just above the panels: from here on, only keys
    tab_to(page, "#fix-mask_pii")
    page.keyboard.press("Space")
    expect(page.locator("#fix-mask_pii")).to_be_checked()
    tab_to(page, "#fix-plan-button")
    page.keyboard.press("Enter")
    expect(page.locator("#fix-plan caption")).to_contain_text("examples now")
    expect(page.locator("#fix-apply")).to_have_attribute("aria-disabled", "false")
    tab_to(page, "#export-openai")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    assert len(Path(info.value.path()).read_bytes().splitlines()) == 5
    tab_to(page, "#push-mode-push")
    page.keyboard.press("ArrowDown")  # radios move with the arrows
    expect(page.locator("#push-mode-append")).to_be_checked()
    expect(page.locator("#append-split")).to_be_visible()
    tab_to(page, "#push-repo")
    page.keyboard.type("alice/keyboard")
    tab_to(page, "#push-button")
    page.keyboard.press("Enter")  # no token: said in the panel's status line, the focus stays
    expect(page.locator("#push-status")).to_contain_text("token")
    expect(page.locator("#push-button")).to_be_focused()
    no_overflow(page)
    steps.shot("panels-by-keyboard", full_page=False)

    open_app(page, hub_server)
    tab_to(page, "#hub-import summary")
    page.keyboard.press("Enter")
    tab_to(page, "#import-repo")
    page.keyboard.type("no-owner")
    tab_to(page, "#import-button")
    page.keyboard.press("Enter")
    expect(page.locator("#hub-import-status")).to_contain_text("owner/name")
    expect(page.locator("#import-repo")).to_be_focused()
    no_overflow(page)
