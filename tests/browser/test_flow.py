"""The whole flow in a real browser: upload a real dataset, pick a model, get a notebook."""

from __future__ import annotations

import re
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, Steps, open_app
from tests.conftest import shared_file

pytestmark = pytest.mark.browser

ANALYSIS_WAIT_MS = 120_000  # the first analysis also starts the worker process


def analysis_of(server: LiveServer, page: Page) -> dict[str, Any]:
    """The API's own answer for the session the page just analysed: the figures the page must show."""
    session_id = page.evaluate("() => document.body.dataset.sessionId")
    with server.api() as api:
        answer = api.get(f"/analyze/{session_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def upload_with_picker(page: Page, name: str) -> None:
    page.set_input_files("#file-input", str(shared_file(name)))
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)


def card_value(page: Page, title: str) -> str:
    card = page.locator(".card", has=page.get_by_role("heading", name=title, exact=True))
    return card.locator(".card-value").inner_text()


def test_full_flow_from_upload_to_notebook(page: Page, steps: Steps, live_server: LiveServer) -> None:
    open_app(page, live_server)
    expect(page.get_by_role("heading", name="Check a fine-tuning dataset")).to_be_visible()
    steps.shot("start")

    upload_with_picker(page, "openai_cookbook_toy_chat_fine_tuning.jsonl")
    expect(page.locator("#upload-progress")).to_have_attribute("value", "1")
    expect(page.locator("#analysis-progress")).to_have_attribute("value", "1")
    steps.shot("dashboard")
    analysis = analysis_of(live_server, page)
    report = analysis["report"]

    # Headline cards: the cookbook file has 5 examples; the other figures are whatever the API computed.
    assert analysis["total_examples"] == 5
    assert card_value(page, "Examples") == "5"
    assert card_value(page, "Tokens") == f"{analysis['total_tokens']:,}"
    assert card_value(page, "Quality score") == f"{report['quality']['score']} / 100"
    deductions = page.get_by_role("list", name="Deductions").locator("li")
    expect(deductions).to_have_count(len(report["quality"]["deductions"]))
    for item, deduction in zip(deductions.all(), report["quality"]["deductions"], strict=True):
        assert deduction["reason"] in item.inner_text()

    # Charts: one bar per log-spaced length bin, the max_seq_length line; one role bar per role, with counts.
    with live_server.api() as api:
        distribution = api.get(f"/preview/{analysis['session_id']}/distribution").json()
    bins = distribution["tokens_log_histogram"]
    expect(page.locator("#token-chart rect.bar")).to_have_count(len(bins))
    assert page.locator("#token-chart line.marker-line").get_attribute("data-value") == "2048"
    expect(page.locator("#token-chart .chart-marker")).to_contain_text("1 examples are longer")
    roles = report["roles"]
    expect(page.locator("#role-chart rect.bar")).to_have_count(len(roles))
    role_label = page.locator("#role-chart svg").get_attribute("aria-label") or ""
    for role, count in roles.items():
        assert f"{role}: {count}" in role_label

    # Issues, grouped by severity, each with its count; the file lacks a user message in one example.
    issues = report["issues"]
    expect(page.locator("#issues li.issue")).to_have_count(len(issues))
    for severity in {i["severity"] for i in issues}:
        expected = sum(1 for i in issues if i["severity"] == severity)
        expect(page.locator(f"#issues .severity-group.severity-{severity} li.issue")).to_have_count(expected)
    linked = next(i for i in issues if i["examples"])
    target = linked["examples"][0]["index"]
    issue_item = page.locator(f"#issues li.issue[data-code='{linked['code']}']")
    issue_item.get_by_role("button", name=re.compile(rf"^#{target}\b")).first.click()
    record = page.locator(f"#record-{target}")
    expect(record).to_be_visible()
    expect(record).to_have_class(re.compile("highlighted"))
    expect(record).to_be_focused()
    steps.shot("issue-record", full_page=False)

    # Preview pages: 5 examples at 5 per page is one page.
    expect(page.locator("#page-status")).to_have_text("Page 1 of 1 (5 examples)")
    expect(page.locator("#preview-list article.example")).to_have_count(5)

    # Recommend → ranked cards with reasons; excluded ones on request.
    page.select_option("#task-type", "conversation")
    page.select_option("#deployment-target", "cloud")
    page.check("#commercial-only")
    page.get_by_role("button", name="Recommend models").click()
    cards = page.locator("li.model-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    steps.shot("recommendations")
    session_id = page.evaluate("() => document.body.dataset.sessionId")
    with live_server.api() as api:
        ranked = api.post(
            "/recommend",
            json={
                "session_id": session_id,
                "task_type": "conversation",
                "deployment_target": "cloud",
                "commercial_only": True,
                "no_gated": False,
            },
        ).json()
    recommendations = ranked["recommendations"]
    expect(cards).to_have_count(len(recommendations))
    shown_ids = [c.get_attribute("data-model-id") for c in cards.all()]
    assert shown_ids == [r["model_id"] for r in recommendations]
    first = recommendations[0]
    for reason in first["reasons"]:
        expect(cards.first.get_by_role("list", name="Reasons")).to_contain_text(reason)
    if ranked.get("excluded"):
        page.get_by_text(re.compile(r"Show \d+ excluded models")).click()
        expect(page.locator(".excluded li")).to_have_count(len(ranked["excluded"]))
        steps.shot("excluded")

    # Choose the first model: the training form holds the catalogue's defaults.
    cards.first.get_by_role("button", name=re.compile("^Use ")).click()
    expect(page.locator("#train-section")).to_be_visible()
    with live_server.api() as api:
        entry = api.get(f"/models/{first['model_id']}").json()
    expect(page.locator("#train-lora_rank")).to_be_visible()
    for knob, default in entry["defaults"].items():
        assert float(page.locator(f"#train-{knob}").input_value()) == float(default), knob

    # The preview now shows the chosen model's template, assistant spans marked as trained.
    expect(page.locator("#template-select")).to_have_value(first["model_id"])
    expect(page.locator("#template-note")).to_be_visible()
    trained = page.locator("#preview-list mark.trained")
    expect(trained.first).to_be_visible()
    assistant_texts = [
        m["content"] for m in _first_example(live_server, session_id)["messages"] if m["role"] == "assistant"
    ]
    first_marks = page.locator("#preview-list article.example").first.locator("mark.trained:not(.marker)")
    assert [m.inner_text() for m in first_marks.all()] == assistant_texts
    steps.shot("template-preview")

    # An out-of-range setting is named next to its field as it is typed, and blocks generating.
    page.fill("#train-learning_rate", "5")
    expect(page.locator("#train-learning_rate")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#train-learning_rate-error")).to_contain_text("at most 0.01")
    page.get_by_role("button", name="Generate notebook").click()
    expect(page.locator("#train-learning_rate")).to_be_focused()
    expect(page.locator("#notice")).to_be_hidden()
    steps.shot("invalid-setting")
    page.fill("#train-learning_rate", str(entry["defaults"]["learning_rate"]))
    page.fill("#train-max_steps", "30")

    page.get_by_role("button", name="Generate notebook").click()
    download_link = page.locator("#download-link")
    expect(download_link).to_be_visible(timeout=60_000)
    expect(page.locator("#notice")).to_be_hidden()
    colab = page.locator("#colab-link")
    if colab.count() == 0:
        expect(page.locator(".colab-steps")).to_contain_text("Upload notebook")
    steps.shot("notebook-ready")
    with page.expect_download() as info:
        download_link.click()
    notebook = nbformat.reads(  # type: ignore[no-untyped-call]
        info.value.path().read_text(encoding="utf-8"), as_version=4
    )
    nbformat.validate(notebook)
    # The settings typed in the page are the notebook's parameters.
    [parameters] = [c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert re.search(r"^MAX_STEPS = 30\b", parameters, re.MULTILINE)
    assert re.search(rf"^LORA_RANK = {entry['defaults']['lora_rank']}\b", parameters, re.MULTILINE)
    assert entry["hf_id"] in parameters or (entry["unsloth_id"] or entry["hf_id"]) in parameters


def _first_example(server: LiveServer, session_id: str, position: int = 0) -> dict[str, Any]:
    with server.api() as api:
        page = api.get(f"/preview/{session_id}", params={"page": position + 1, "page_size": 1}).json()
    return dict(page["examples"][0])


def test_drop_a_file_and_compare_duplicates(page: Page, steps: Steps, live_server: LiveServer) -> None:
    open_app(page, live_server)
    path = shared_file("llamafactory_alpaca_en_demo.json")
    # A real drop: a DataTransfer holding the file, dispatched on the drop zone.
    data = list(path.read_bytes())
    transfer = page.evaluate_handle(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "application/json" }));
            return transfer;
        }""",
        [path.name, data],
    )
    page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("#dropzone")).to_have_class(re.compile("dragging"))
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    expect(page.locator("#dashboard")).to_be_visible(timeout=ANALYSIS_WAIT_MS)
    expect(page.locator("#dataset-name")).to_have_text(path.name)
    assert card_value(page, "Examples") == "999"
    steps.shot("dashboard")

    report = analysis_of(live_server, page)["report"]
    exact = report["duplicates"]["exact"]
    section = page.locator(".dup-kind[data-kind=exact]")
    expect(section.get_by_role("heading")).to_contain_text("Exact duplicates: 14 records")
    group = section.locator("li.dup-group").first
    expect(group.locator(".chips button")).to_have_count(len(exact["groups"][0]))  # every member listed
    group.get_by_role("button", name="Compare side by side").click()
    shown = group.locator(".side-by-side article.example")
    expect(shown).to_have_count(2)
    texts = [a.locator(".messages").inner_text() for a in shown.all()]
    assert len(set(texts)) == 1, "exact duplicates must show the same conversation"
    steps.shot("duplicates-side-by-side", full_page=False)

    # Phone width: nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
    steps.shot("phone-width")


def test_controls_are_labelled_and_the_file_picker_is_keyboard_reachable(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    # From the top of a fresh page, the keyboard reaches the skip link first, then the file chooser button.
    open_app(page, live_server)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "choose-file":
            break
    expect(page.get_by_role("button", name="Choose a file")).to_be_focused()
    steps.shot("keyboard-focus-on-file-picker", full_page=False)

    upload_with_picker(page, "llamafactory_pr5606_oai_same10_as_json_array.json")
    page.get_by_role("button", name="Recommend models").click()
    page.locator("li.model-card").first.get_by_role("button", name=re.compile("^Use ")).click()
    expect(page.locator("#train-fields input").first).to_be_visible()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
            .map((c) => c.id || c.name)"""
    )
    assert unlabelled == []
    charts = page.locator("svg[role=img]")
    expect(charts).to_have_count(2)
    for chart in charts.all():
        assert (chart.get_attribute("aria-label") or "").strip()


def test_template_preview_uses_each_catalogue_models_markers(
    page: Page, steps: Steps, live_server: LiveServer
) -> None:
    """Every trained span follows the catalogue's response marker, every user turn its instruction marker."""
    with live_server.api() as api:
        models = api.get("/models").json()
    open_app(page, live_server)
    upload_with_picker(page, "openai_cookbook_toy_chat_fine_tuning.jsonl")
    session_id = page.evaluate("() => document.body.dataset.sessionId")
    record = _first_example(live_server, session_id, position=1)  # multi-turn, with a system prompt
    roles = [m["role"] for m in record["messages"]]
    assistant_texts = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
    assert roles.count("assistant") >= 2

    for model in models:
        page.select_option("#template-select", model["model_id"])
        expect(page.locator("#template-note")).to_contain_text(model["name"])
        expect(page.locator("#preview-list")).to_have_attribute("data-template", model["model_id"])
        rendered = page.locator(f"#record-{record['index']} pre.templated")
        expect(rendered).to_be_visible()
        spans = rendered.evaluate(
            """(pre) => {
                let before = "";
                const out = [];
                for (const node of pre.childNodes) {
                    const isTrained = node.nodeName === "MARK" && !node.classList.contains("marker");
                    if (isTrained) out.push({ before, text: node.textContent });
                    before += node.textContent;
                }
                return { spans: out, text: before };
            }"""
        )
        assert [s["text"] for s in spans["spans"]] == assistant_texts, model["model_id"]
        for span in spans["spans"]:
            assert span["before"].endswith(model["response_marker"]), (
                model["model_id"],
                span["before"][-60:],
            )
        assert spans["text"].count(model["instruction_marker"]) == roles.count("user"), model["model_id"]
        if not model["supports_system_role"]:
            # The system prompt is folded into the first user turn, as these templates do.
            system = next(m["content"] for m in record["messages"] if m["role"] == "system")
            first_user = next(m["content"] for m in record["messages"] if m["role"] == "user")
            assert f"{system}\n\n{first_user}" in spans["text"], model["model_id"]
    steps.shot("template-preview-last-model", full_page=False)
