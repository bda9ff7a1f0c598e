"""Issue 15's page items at phone (390 px) and laptop (1366 px) width, on the real server: the "read only partly"
banner (the counts are a lower bound), the preference-data banner (DPO or KTO, never SFT) with the training step
saying so, preview examples showing the chosen and rejected answers (or the answer and its label), and the
mapping step for records with field names of their own."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ANALYSIS_WAIT_MS, LiveServer, Steps, horizontal_overflow, open_dataset
from tests.conftest import shared_file

pytestmark = pytest.mark.browser

KTO = "llamafactory_kto_en_demo.json"
DPO_V1 = "llamafactory_v1_dpo_demo.jsonl"
ALPACA = "llamafactory_alpaca_en_demo.json"


def upload_bytes(server: LiveServer, name: str, data: bytes) -> str:
    with server.api() as api:
        answer = api.post("/upload", files={"file": (name, data)})
        assert answer.status_code == 200, answer.text
        session_id = str(answer.json()["session_id"])
        while api.get(f"/analyze/{session_id}").status_code == 202:
            time.sleep(0.1)
    return session_id


def wider_than_the_screen(page: Page) -> list[str]:
    """The elements that reach past the screen's right edge, for the failure message."""
    return list(page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right + window.scrollX > document.documentElement.clientWidth + 1)
        .map((e) => `${e.tagName}#${e.id}`).slice(0, 8)"""))


def choose_first_model(page: Page) -> None:
    page.select_option("#task-type", "qa")
    page.select_option("#deployment-target", "desktop")
    page.get_by_role("button", name="Recommend models").click()
    page.locator("li.model-card").first.get_by_role("button", name=re.compile("^Use ")).click()
    expect(page.locator("#train-section")).to_be_visible()


def test_a_file_read_only_partly_says_its_counts_are_a_lower_bound(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    whole = shared_file(ALPACA).read_bytes()
    session_id = upload_bytes(live_server, "cut_alpaca.json", whole[:3000])  # cut inside its third record
    with live_server.api() as api:
        report = api.get(f"/analyze/{session_id}").json()["report"]
    assert report["records_total_is_lower_bound"] is True and report["read_stopped"]["index"] == 2
    open_dataset(page, live_server, session_id)
    banner = page.locator("[data-banner=read_partly]")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("heading")).to_have_text("This file was read only partly")
    expect(banner).to_contain_text("Reading stopped at record #2")
    expect(banner).to_contain_text("the file ends in the middle of this record")
    expect(banner).to_contain_text(f"at least {report['records_total']} records")
    expect(banner).to_contain_text("lower bound")
    expect(page.locator(".card").first).to_contain_text("at least 2 records read")
    deductions = page.locator("ul.deductions li")
    expect(deductions.first).to_contain_text("−20")  # the score's deduction as the report gives it
    expect(deductions.first).to_contain_text("The file was read only partly")
    # "every example fits" as the notebook words it: about, never certain, from another tokenizer's count
    expect(page.locator("#fit-note")).to_contain_text("About: every example fits (counted with ")
    expect(page.locator("#fit-note")).to_contain_text("the notebook counts exactly")
    assert horizontal_overflow(page) <= 0
    steps.shot("read-partly")
    # a whole file gets no such banner
    open_dataset(page, live_server, upload_bytes(live_server, "whole_alpaca.json", whole))
    expect(page.locator("#analysis-banners")).to_be_hidden()


def test_preference_data_banner_answers_and_the_training_step(
    page: Page, steps: Steps, width: int, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    open_dataset(page, live_server, analysed[KTO])
    banner = page.locator("[data-banner=preference]")
    expect(banner.get_by_role("heading")).to_have_text("Preference data (unpaired)")
    expect(banner).to_contain_text("300 examples are unpaired preference data")
    expect(banner).to_contain_text("good (150) or bad (150)")
    expect(banner).to_contain_text("Train them with KTO")
    expect(banner).to_contain_text("Never as plain chat (SFT)")
    first = page.locator("#preview-list article.example").first
    answer = first.locator("[data-answer=completion]")
    expect(answer).to_be_visible()
    expect(answer.get_by_role("heading")).to_have_text(re.compile(r"^Answer, label: (good|bad)"))
    expect(answer.locator("li.message[data-role=assistant]")).to_have_count(1)
    assert horizontal_overflow(page) <= 0
    steps.shot("kto")

    open_dataset(page, live_server, analysed[DPO_V1])
    banner = page.locator("[data-banner=preference]")
    expect(banner.get_by_role("heading")).to_have_text("Preference data (paired)")
    expect(banner).to_contain_text("10 examples are preference pairs")
    expect(banner).to_contain_text("Train them with DPO")
    first = page.locator("#preview-list article.example").first
    expect(first.locator("[data-answer=chosen] h5")).to_have_text("Chosen answer (preferred)")
    expect(first.locator("[data-answer=rejected] h5")).to_have_text("Rejected answer")
    with live_server.api() as api:
        example = api.get(f"/preview/{analysed[DPO_V1]}", params={"page_size": 1}).json()["examples"][0]
    shown = first.locator("[data-answer=rejected] .content").first.inner_text()
    assert shown.strip() == example["rejected"][0]["content"].strip()
    steps.shot("dpo")

    choose_first_model(page)
    note = page.locator("#train-note")
    expect(note).to_contain_text("Preference data: this notebook would train with SFT")
    page.locator("#train-note-what").click()
    expect(page.locator("#preference-banner")).to_be_focused()
    page.locator("#generate-button").click()
    expect(page.locator("#notice-message")).to_contain_text("preference data")
    expect(page.locator("#notice-next")).to_contain_text("Train it with DPO or KTO")
    assert horizontal_overflow(page) <= 0, wider_than_the_screen(page)
    steps.shot("generate-refused")


QA_ROWS = [{"query": f"What is {n} plus {n}?", "answer": f"{2 * n}", "speaker_notes": "x"} for n in range(1, 13)]


def test_the_mapping_step_reads_records_with_names_of_their_own(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    data = b"".join(json.dumps(row).encode() + b"\n" for row in QA_ROWS)
    session_id = upload_bytes(live_server, "qa_own_names.jsonl", data)
    open_dataset(page, live_server, session_id)
    expect(page.locator(".card").first.locator(".card-value")).to_have_text("0")
    details = page.locator("#mapping-details")
    expect(details).to_have_attribute("open", "")  # nothing usable: the step opens by itself
    expect(page.locator("#mapping-keys")).to_have_text("Keys in the first records: query, answer, speaker_notes.")
    page.select_option("#mapping-field-prompt", "query")
    page.select_option("#mapping-field-completion", "answer")
    page.get_by_role("button", name="Preview the mapping").click()
    expect(page.locator("#mapping-usable")).to_have_text(
        "5 of the first 5 records read as examples with this mapping (format: prompt_completion).")
    turns = page.locator("#mapping-preview li.message")
    expect(turns).to_have_count(2)
    expect(turns.nth(0)).to_have_attribute("data-role", "user")
    expect(turns.nth(0).locator(".content")).to_have_text("What is 1 plus 1?")
    expect(turns.nth(1).locator(".content")).to_have_text("2")
    assert horizontal_overflow(page) <= 0, wider_than_the_screen(page)
    steps.shot("mapping-preview")
    page.get_by_role("button", name="Analyse again with this mapping").click()
    page.wait_for_selector("body[data-analysis=ready]", timeout=ANALYSIS_WAIT_MS)
    expect(page.locator(".card").first.locator(".card-value")).to_have_text("12")
    expect(page.locator("#mapping-details")).not_to_have_attribute("open", "")  # folded once records are read
    with live_server.api() as api:
        assert api.get(f"/analyze/{session_id}").json()["report"]["file"]["format"] == "prompt_completion"
    expect(page.locator("#preview-list article.example").first.locator("li.message").first).to_contain_text(
        "What is 1 plus 1?")
    steps.shot("mapped")
    # a role name that is not a role is said at the step, not as a broken page
    page.locator("#mapping-details summary").click()
    page.fill("#mapping-roles", "bot=robot")
    page.get_by_role("button", name="Preview the mapping").click()
    expect(page.locator("#mapping-status")).to_contain_text("not a role")


def _chat(i: int, key: str = "messages", weight: int | None = None) -> dict[str, object]:
    reply: dict[str, object] = {"role": "assistant", "content": f"Answer number {i} is here."}
    if weight is not None:
        reply["weight"] = weight
    return {key: [{"role": "user", "content": f"Question {i}, please?"}, reply]}


def test_the_new_issues_each_say_their_own_next_step(
    page: Page, steps: Steps, width: int, live_server: LiveServer
) -> None:
    rows = [json.dumps(_chat(i)) for i in range(12)]
    files = {
        "missing_comma": ("comma.json", ("[\n" + ",\n".join(rows[:6]) + "\n" + ",\n".join(rows[6:]) + "\n]").encode()),
        "messages_under_conversations": (
            "conversations.jsonl", b"".join(json.dumps(_chat(i, "conversations")).encode() + b"\n" for i in range(12))),
        "nothing_trained": (
            "weight0.jsonl", b"".join(json.dumps(_chat(i, weight=0)).encode() + b"\n" for i in range(12))),
    }
    advice: dict[str, str] = {}
    for code, (name, data) in files.items():
        session_id = upload_bytes(live_server, name, data)
        with live_server.api() as api:
            issue = next(i for i in api.get(f"/analyze/{session_id}").json()["report"]["issues"] if i["code"] == code)
        open_dataset(page, live_server, session_id)
        shown = page.locator(f"li.issue[data-code={code}]")
        expect(shown.locator(".advice")).to_have_text(f"What to do: {issue['advice']}")
        advice[code] = issue["advice"]
        assert horizontal_overflow(page) <= 0, wider_than_the_screen(page)
        steps.shot(code)
    assert "the ingest step flagged them" not in " ".join(advice.values())  # none is the generic sentence
    assert "add a comma" in advice["missing_comma"] and "rename the key" in advice["messages_under_conversations"]
    assert "weight 1" in advice["nothing_trained"]
    expect(page.locator("li.issue[data-code=nothing_trained] .records button").first).to_have_text("#0 (line 1)")
