"""The analysis's progress from the task engine, at phone (390 px) and laptop (1366 px) width, on the real server
with a multi-part file (20,000 generated chat examples, about 16 MB: five parts): the task's events (SSE) move
the bar and the running figures before the report, a dropped stream reconnects with Last-Event-ID, a stream
that cannot be opened falls back to polling, and Stop cancels the analysis, which can then be started again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, Route, expect

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
from tests.conftest import generated_chat_file

pytestmark = pytest.mark.browser

EXAMPLES = 20_000


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # its own server: the shared one refuses uploads over 4 MB
    server = start_server(tmp_path_factory.mktemp("progress-data"), ARTIFACTS / "progress-server.log",
                          MAX_UPLOAD_BYTES=str(40_000_000))
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_chat_file(tmp_path_factory.mktemp("progress-file"), EXAMPLES)


def _watch_figures(page: Page) -> None:
    # Every value the running figures take, with the time since the upload finished, and the bar's values.
    page.add_init_script("""
        window.figureLog = [];
        window.barLog = [];
        new MutationObserver(() => {
            const records = document.querySelector('#partial-figures dd[data-figure=records]');
            const box = document.querySelector('#partial-figures');
            const value = records && box && !box.hidden ? records.textContent : null;
            const last = window.figureLog[window.figureLog.length - 1];
            if (value && (!last || last.value !== value)) {
                window.figureLog.push({ value, at: performance.now(),
                    source: document.body.dataset.progressSource || '',
                    label: !document.querySelector('#partial-label').hidden });
            }
            const dashboard = document.querySelector('#dashboard');
            if (dashboard && !dashboard.hidden && !window.readyAt) window.readyAt = performance.now();
            const uploaded = document.querySelector('#upload-progress')?.value === 1;
            if (uploaded && !window.uploadedAt) window.uploadedAt = performance.now();
            const bar = document.querySelector('#analysis-progress');
            const v = bar && bar.getAttribute('value');
            if (v !== null && window.barLog[window.barLog.length - 1] !== v) window.barLog.push(v);
        }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
    """)


def _records(log: list[dict[str, object]]) -> list[int]:
    return [int(str(entry["value"]).replace(",", "")) for entry in log]


def test_events_show_the_running_figures_before_the_report(
    page: Page, steps: Steps, width: int, big_server: LiveServer, big_file: Path
) -> None:
    event_requests: list[Request] = []
    page.on("request", lambda r: event_requests.append(r) if r.url.endswith("/events") else None)
    _watch_figures(page)
    open_app(page, big_server)
    page.set_input_files("#file-input", str(big_file))
    expect(page.locator("#partial-figures dd[data-figure=records]")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#partial-label")).to_contain_text("partial")
    assert horizontal_overflow(page) <= 0
    steps.shot("partial", full_page=False)
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    log = page.evaluate("() => window.figureLog")
    records = _records(log)
    assert len(records) >= 2 and records == sorted(records) and records[0] < records[-1], records  # they grew
    ready_at = page.evaluate("() => window.readyAt")
    assert records[0] < EXAMPLES and log[0]["at"] < ready_at  # the first figures came with a part, before the report
    assert all(entry["source"] == "events" and entry["label"] for entry in log), log
    assert event_requests and "/tasks/" in event_requests[0].url
    bars = [float(v) for v in page.evaluate("() => window.barLog")]
    assert bars[-1] == 1 and bars == sorted(bars) and len({b for b in bars if 0 < b < 1}) >= 2, bars
    expect(page.locator(".card").first.locator(".card-value")).to_have_text(f"{EXAMPLES:,}")
    expect(page.locator("#analysis-stop")).to_be_hidden()
    uploaded_at = page.evaluate("() => window.uploadedAt")
    figures = {"width": width, "partial_records": records, "bar_values": bars,
               "first_partial_ms_after_upload": round(log[0]["at"] - uploaded_at),
               "report_ms_after_upload": round(ready_at - uploaded_at)}
    (steps.folder / "figures.json").write_text(json.dumps(figures, indent=2))


def test_a_dropped_stream_reconnects_with_last_event_id_and_a_refused_one_falls_back_to_polling(
    page: Page, width: int, big_server: LiveServer, big_file: Path
) -> None:
    seen: list[dict[str, str]] = []

    def drop_first(route: Route) -> None:
        seen.append(dict(route.request.headers))
        if len(seen) == 1:  # one event, then the stream closes before the task ended
            task_id = route.request.url.split("/tasks/")[1].split("/")[0]
            body = f'id: 1\nevent: status\ndata: {json.dumps({"task_id": task_id, "detailed_status": ["Queued"]})}\n\n'
            route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)
        else:
            route.continue_()

    _watch_figures(page)
    open_app(page, big_server)
    page.route("**/tasks/*/events", drop_first)
    page.set_input_files("#file-input", str(big_file))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    assert len(seen) >= 2 and seen[1].get("last-event-id") == "1", seen
    assert page.evaluate("() => document.body.dataset.progressSource") == "events"

    page.unroute("**/tasks/*/events")
    page.route("**/tasks/*/events", lambda route: route.fulfill(status=503, body="no streams here"))
    page.evaluate("() => { window.figureLog = []; }")
    page.get_by_role("link", name="New dataset").click()
    page.set_input_files("#file-input", str(big_file))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    assert page.evaluate("() => document.body.dataset.progressSource") == "polling"
    polled = page.evaluate("() => window.figureLog")
    assert all(entry["source"] == "polling" for entry in polled), polled  # figures still came, by polling


def test_stop_cancels_the_analysis_and_it_can_be_started_again(
    page: Page, steps: Steps, width: int, big_server: LiveServer, big_file: Path
) -> None:
    cancels: list[str] = []
    page.on("request", lambda r: cancels.append(r.url) if r.method == "DELETE" else None)
    open_app(page, big_server)
    page.set_input_files("#file-input", str(big_file))
    stop = page.get_by_role("button", name="Stop the analysis")
    expect(stop).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    stop.click()
    status = page.locator("#progress-status")
    expect(status).to_contain_text("was stopped before it finished", timeout=ANALYSIS_WAIT_MS)
    expect(status).to_contain_text("Analyse again")
    expect(page.locator("#dashboard")).to_be_hidden()
    assert len(cancels) == 1 and "/tasks/" in cancels[0]
    session_id = page.url.rsplit("/", 1)[-1]
    with big_server.api() as api:
        assert api.get(f"/analyze/{session_id}").json()["error"] == "analysis_cancelled"
    assert horizontal_overflow(page) <= 0
    steps.shot("stopped", full_page=False)
    page.reload()  # the address of a stopped analysis says the same
    expect(status).to_contain_text("was stopped before it finished", timeout=ANALYSIS_WAIT_MS)
    page.get_by_role("button", name="Analyse again").click()
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    expect(page.locator(".card").first.locator(".card-value")).to_have_text(f"{EXAMPLES:,}")
    steps.shot("analysed-again", full_page=False)
