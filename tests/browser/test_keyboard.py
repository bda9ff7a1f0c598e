"""The keyboard path from upload to download, and the page's accessibility: live regions only on status
lines, one tab stop per group of record chips, no scroll boxes, a real button for the file chooser, a skip
link to "Choose a model", focus kept after Recommend."""

from __future__ import annotations

import re
from collections.abc import Iterator

import nbformat
import pytest
from playwright.sync_api import Page, Playwright, expect

from tests.browser.conftest import (
    ANALYSIS_WAIT_MS,
    CHROMIUM_ARGS,
    LiveServer,
    Steps,
    chromium_path,
    open_app,
    open_dataset,
)
from tests.conftest import shared_file

pytestmark = pytest.mark.browser

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"
MAX_PRESSES = 120  # a guard against a focus loop, not a target


def press_until(page: Page, key: str, matches: str) -> int:
    """Presses `key` until the focused element matches the CSS selector; how many presses it took."""
    for count in range(1, MAX_PRESSES + 1):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", matches):
            return count
    raise AssertionError(f"{matches} was not reached with {key} in {MAX_PRESSES} presses")


@pytest.fixture
def fresh_browser_page(playwright: Playwright) -> Iterator[Page]:
    """A page in a browser of its own, so no other test's page or chooser can stand in the way of this one's."""
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    browser.close()
    assert not errors, f"the page reported errors: {errors}"


def test_keyboard_alone_from_upload_to_download(fresh_browser_page: Page, live_server: LiveServer) -> None:
    page = fresh_browser_page
    steps = Steps(page, "test_keyboard_alone_from_upload_to_download")
    # The chooser is answered by a handler registered before the page opens: Playwright turns on intercepting
    # choosers when a listener appears, and a waiter set up just before the key press could miss one that
    # opens at once (the test failed that way now and then in the whole suite).
    opened: list[bool] = []
    page.on("filechooser", lambda chooser: (chooser.set_files(str(shared_file(TOY))), opened.append(True)))
    open_app(page, live_server)
    press_until(page, "Tab", "#choose-file")
    page.keyboard.press("Enter")  # a real button opens the file chooser, answered by the handler set above
    expect(page.locator("#dashboard-heading")).to_be_focused(timeout=ANALYSIS_WAIT_MS)
    assert opened == [True]  # through the chooser, once
    steps.shot("analysed", full_page=False)

    # Back up to the skip links at the top; the second one leads to "Choose a model".
    press_until(page, "Shift+Tab", "#skip-to-model")
    page.keyboard.press("Enter")
    expect(page.locator("#recommend-heading")).to_be_focused()
    press_until(page, "Tab", "#task-type")
    page.keyboard.press("ArrowDown")  # the second task: conversation
    expect(page.locator("#task-type")).to_have_value("conversation")
    press_until(page, "Tab", "#recommend-button")
    page.keyboard.press("Enter")
    expect(page.locator("li.model-card").first).to_be_visible()
    expect(page.locator("#recommend-button")).to_be_focused()  # the focus stays where it was
    expect(page.locator("#recommend-status")).to_contain_text("models ranked for conversation")
    steps.shot("ranked", full_page=False)

    press_until(page, "Tab", "li.model-card button.primary")
    chosen = page.evaluate("() => document.activeElement.closest('li').dataset.modelId")
    page.keyboard.press("Enter")
    expect(page.locator("#train-heading")).to_be_focused()
    press_until(page, "Tab", "#train-max_steps")
    page.keyboard.type("30")
    press_until(page, "Tab", "#generate-button")
    page.keyboard.press("Enter")
    expect(page.locator("#download-link")).to_be_visible(timeout=60_000)
    expect(page.locator("#generate-button")).to_be_focused()
    steps.shot("generated", full_page=False)
    press_until(page, "Tab", "#download-link")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    notebook = nbformat.reads(info.value.path().read_text(encoding="utf-8"), as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)
    [parameters] = [c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert re.search(r"^MAX_STEPS = 30\b", parameters, re.MULTILINE)
    assert page.url.endswith(f"&model={chosen}")


def test_live_regions_tab_stops_and_scroll_boxes(
    page: Page, steps: Steps, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    open_dataset(page, live_server, analysed[GLAIVE])
    live = page.evaluate("""() => [...document.querySelectorAll('[aria-live], [role=status], [role=alert]')]
        .map((n) => ({ id: n.id, tag: n.tagName, big: !!n.querySelector('article, li, ol, ul, section') }))""")
    assert {n["id"] for n in live} == {"notice", "progress-status", "browse-status", "recommend-status",
                                       "generate-status", "history-status", "sign-in-error",
                                       # datasets out: the fix, download, push and Hub import panels' lines
                                       "fix-status", "export-status", "push-status", "hub-import-status",
                                       # the mapping step's line (a status line like the others)
                                       "mapping-status"}
    assert not [n for n in live if n["big"]], live  # status lines only: never the example list or the cards

    # One tab stop per group of record chips (plus its "List all" button), arrows inside the group.
    issues = page.locator("#issues li.issue", has=page.locator(".chips"))
    chips = page.locator("#issues .chips button")
    stops = page.evaluate("""() => [...document.querySelectorAll('#issues button, #issues a')]
        .filter((n) => n.tabIndex >= 0).length""")
    assert chips.count() > 3 * issues.count() and stops == 2 * issues.count()
    first_group = page.locator("#issues .chips").first
    first_group.locator("button").first.focus()
    page.keyboard.press("ArrowRight")
    second = first_group.locator("button").nth(1)
    expect(second).to_be_focused()
    target = re.match(r"#(\d+)", second.inner_text())
    assert target
    page.keyboard.press("Enter")
    expect(page.locator(f"#record-{target.group(1)}")).to_be_focused()

    # No scroll box inside the page (each would be one more tab stop): long texts fold instead.
    scrollers = page.evaluate("""() => [...document.querySelectorAll('main *')].filter((n) => {
        const style = getComputedStyle(n);
        return /(auto|scroll)/.test(style.overflowY + style.overflowX)
            && (n.scrollHeight > n.clientHeight + 1 || n.scrollWidth > n.clientWidth + 1);
    }).map((n) => n.className)""")
    assert scrollers == []
    expect(page.get_by_role("button", name="Choose a file")).to_have_count(1)
    assert page.locator("#file-input").get_attribute("tabindex") == "-1"
    steps.shot("record-from-chip", full_page=False)
