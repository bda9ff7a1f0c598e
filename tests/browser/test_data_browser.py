"""The data browser on real files: search, role, issue, language and length filters, token sort, the
log-binned histogram and its max_seq_length line, tool calls in the assistant turn, duplicate groups
complete and paged with a word-level diff. Expected figures come from the files themselves or the API."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, Steps, open_dataset
from tests.conftest import shared_file

pytestmark = pytest.mark.browser

ALPACA = "llamafactory_alpaca_en_demo.json"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"
KTO = "llamafactory_kto_en_demo.json"
AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


def shown_indexes(page: Page) -> list[int]:
    articles = page.locator("#preview-list article.example")
    return [int(i) for i in articles.evaluate_all("(a) => a.map((x) => x.dataset.index)")]


def test_search_role_length_sort_and_histogram(
    page: Page, steps: Steps, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    session_id = analysed[ALPACA]
    raw = json.loads(shared_file(ALPACA).read_text(encoding="utf-8"))
    anywhere = [i for i, r in enumerate(raw) if "poem" in f"{r['instruction']} {r['input']} {r['output']}".lower()]
    in_answers = [i for i, r in enumerate(raw) if "poem" in r["output"].lower()]
    open_dataset(page, live_server, session_id)
    page.select_option("#page-size", "25")
    page.fill("#browse-q", "Poem")
    page.keyboard.press("Enter")
    expect(page.locator("#page-status")).to_have_text(f"Page 1 of 1 ({len(anywhere)} of 999 examples match)")
    assert shown_indexes(page) == anywhere
    page.select_option("#browse-role", "assistant")
    expect(page.locator("#page-status")).to_have_text(f"Page 1 of 1 ({len(in_answers)} of 999 examples match)")
    assert shown_indexes(page) == in_answers
    steps.shot("search-in-answers", full_page=False)
    page.get_by_role("button", name="Clear filters").click()
    expect(page.locator("#page-status")).to_have_text("Page 1 of 40 (999 examples)")

    with live_server.api() as api:
        distribution = api.get(f"/preview/{session_id}/distribution").json()
    longest = distribution["tokens_per_example"]["max"]
    page.select_option("#browse-sort", "tokens_desc")
    expect(page.locator("#preview-list article.example").first.locator("header .hint")).to_contain_text(
        f"{longest:,.0f} tokens")
    # A bar of the histogram lists its examples; its bins are log-spaced and hold every example once.
    bins = distribution["tokens_log_histogram"]
    assert sum(b["count"] for b in bins) == 999
    ratios = {round(b["hi"] / b["lo"], 1) for b in bins[1:-1] if b["lo"]}
    assert ratios <= {1.4, 1.5}, ratios  # two bins per doubling
    bars = page.locator("#token-chart rect.bar")
    expect(bars).to_have_count(len(bins))
    busiest = max(range(len(bins)), key=lambda i: bins[i]["count"])
    bars.nth(busiest).click()
    chosen = bins[busiest]
    expect(page.locator("#browse-min")).to_have_value(str(chosen["lo"]))
    expect(page.locator("#browse-max")).to_have_value(str(chosen["hi"] - 1))
    pages = math.ceil(chosen["count"] / 25)
    expect(page.locator("#page-status")).to_have_text(f"Page 1 of {pages} ({chosen['count']} of 999 examples match)")
    tokens = page.locator("#preview-list article.example header .hint").all_inner_texts()
    counts = [int(re.sub(r"\D", "", t.split("·")[-1])) for t in tokens]
    assert counts == sorted(counts, reverse=True) and all(chosen["lo"] <= c < chosen["hi"] for c in counts)
    line = page.locator("#token-chart line.marker-line")
    assert line.get_attribute("data-value") == str(distribution["max_seq_length"])
    steps.shot("histogram-bar", full_page=False)


def test_language_filter_marks_the_texts_language(
    page: Page, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    open_dataset(page, live_server, analysed[KTO])
    options = page.locator("#browse-language option").all_inner_texts()
    assert options[:2] == ["any", "en (293)"] and "hi (3)" in options
    page.select_option("#browse-language", "hi")
    expect(page.locator("#page-status")).to_have_text("Page 1 of 1 (3 of 300 examples match)")
    contents = page.locator("#preview-list .message .content")
    assert set(contents.evaluate_all("(c) => c.map((x) => x.lang)")) == {"hi"}
    assert page.locator("#preview-list header h4").first.evaluate("(h) => h.closest('[lang]')?.lang") == "en"


def test_tool_calls_sit_in_the_assistant_turn_and_the_tools_schema_is_shown(
    page: Page, steps: Steps, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    raw = json.loads(shared_file(GLAIVE).read_text(encoding="utf-8"))
    first = raw[0]
    [call] = [json.loads(t["value"]) for t in first["conversations"] if t["from"] == "function_call"]
    tools = json.loads(first["tools"])
    open_dataset(page, live_server, analysed[GLAIVE])
    record = page.locator("#record-0")
    calling = record.locator("li.message.role-assistant", has=page.locator(".tool-call"))
    expect(calling).to_have_count(1)
    expect(calling.locator(".tool-call-name code")).to_have_text(call["name"])
    arguments = json.loads(calling.locator("pre.tool-args").inner_text())
    assert arguments == call["arguments"]
    expect(record.locator("li.message.role-tool")).to_contain_text("Result of call")
    summary = record.locator("details.tools summary")
    expect(summary).to_have_text(f"Tools offered ({len(tools)}): {', '.join(t['name'] for t in tools)}")
    summary.click()
    assert json.loads(record.locator("pre.tools-schema").inner_text()) == tools
    expect(page.locator("#record-1 details.tools")).to_have_count(0)  # "[]": no tools to show
    steps.shot("tool-calls", full_page=False)


def later_copies(records: list[dict[str, Any]]) -> tuple[list[int], list[list[int]]]:
    """Records whose messages repeat an earlier record's, and the groups, computed from the file itself."""
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        groups.setdefault(json.dumps(record["messages"], sort_keys=True), []).append(i)
    found = sorted(g for g in groups.values() if len(g) > 1)
    return sorted(i for g in found for i in g[1:]), found


LISTS = re.compile(r".*/preview/[^/]+/(issues|duplicates)/[a-z_]+\?.*")


def list_requests(page: Page) -> list[str]:
    """The URLs of the complete-list requests the page makes (answered by the real server)."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if LISTS.match(request.url) else None)
    return asked


def answer_as_an_older_server(page: Page) -> None:
    """The list routes answered as by a server that has none (404 not_found), to show the page's fallback."""
    page.route(LISTS, lambda route: route.fulfill(status=404, json={
        "detail": "Not Found", "error": "not_found"}))


def test_issue_and_duplicate_lists_are_complete_when_the_server_has_them(
    page: Page, steps: Steps, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    records = [json.loads(line) for line in shared_file(AXOLOTL).read_text(encoding="utf-8").splitlines() if line]
    copies, groups = later_copies(records)
    assert len(copies) == 940 and len(groups) == 60  # the dataset's README
    with live_server.api() as api:
        report = api.get(f"/analyze/{analysed[AXOLOTL]}").json()["report"]
    assert report["duplicates"]["near"]["groups_count"] == len(report["duplicates"]["near"]["groups"])  # all listed
    asked = list_requests(page)
    open_dataset(page, live_server, analysed[AXOLOTL])
    exact = page.locator(".dup-kind[data-kind=exact]")
    expect(exact.locator("li.dup-group")).to_have_count(20)
    first = exact.locator("li.dup-group").first
    expect(first.locator(".chips button")).to_have_count(len(groups[0]))  # every member, not the first 20
    expect(exact.get_by_text("Groups page 1 of 3 (60 groups)")).to_be_visible()
    exact.get_by_role("button", name="Next groups").click()
    expect(exact.locator("li.dup-group").first).to_contain_text("Group 21")
    steps.shot("groups-page-2", full_page=False)

    page.select_option("#browse-issue", "exact_duplicate")
    expect(page.locator("#page-status")).to_have_text("Page 1 of 188 (940 of 1,000 examples match)")
    assert shown_indexes(page) == copies[:5]
    expect(page.locator("#browse-note")).to_be_hidden()  # the whole list: nothing to warn about
    assert sum("/issues/exact_duplicate" in u for u in asked) == math.ceil(940 / 50)


def test_without_complete_lists_the_page_says_it_shows_the_reports_first_records(
    page: Page, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    answer_as_an_older_server(page)
    open_dataset(page, live_server, analysed[AXOLOTL])
    with live_server.api() as api:
        report = api.get(f"/analyze/{analysed[AXOLOTL]}").json()["report"]
    listed = [r["index"] for r in report["duplicates"]["exact"]["examples"]]
    exact = page.locator(".dup-kind[data-kind=exact]")
    expect(exact).to_contain_text("This server lists only the first 20 of 60 groups and at most 20 records per group.")
    page.select_option("#browse-issue", "exact_duplicate")
    expect(page.locator("#browse-note")).to_have_text(
        "This server lists only the first 20 of the 940 records with this issue; these are shown.")
    expect(page.locator("#page-status")).to_have_text("Page 1 of 4 (20 of 1,000 examples match)")
    assert shown_indexes(page) == listed[:5]


def test_near_duplicates_compare_word_by_word(
    page: Page, steps: Steps, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    open_dataset(page, live_server, analysed[GLAIVE])
    near = page.locator(".dup-kind[data-kind=near]")
    group = near.locator("li.dup-group").first
    group.get_by_role("button", name="Compare side by side").click()
    sides = group.locator(".side-by-side article.diff-side")
    expect(sides).to_have_count(2)
    left_id, right_id = (int(s.get_attribute("aria-label").split("#")[1]) for s in sides.all())  # type: ignore[union-attr]
    with live_server.api() as api:
        answer = api.get(f"/preview/{analysed[GLAIVE]}", params={"records": f"{left_id},{right_id}"})
    examples = answer.json()["examples"]
    by_index = {e["index"]: e for e in examples}
    # Each side, read with its own marked words and without the other side's, is that record's own text
    # (a message's content, then its tool calls as name(arguments)).
    def text_of(message: dict[str, Any]) -> str:
        calls = [f"{c['function']['name']}({c['function']['arguments']})" for c in message.get("tool_calls") or []]
        return "\n".join(part for part in [message["content"], *calls] if part)

    for side, index, other_mark in ((sides.nth(0), left_id, "ins"), (sides.nth(1), right_id, "del")):
        assert side.locator(other_mark).count() == 0
        texts = side.locator(".content.diff").evaluate_all("(cs) => cs.map((c) => c.textContent)")
        own = [text_of(m) for m in by_index[index]["messages"]]
        assert texts[: len(own)] == own and not any(texts[len(own):])
    assert group.locator("del").count() + group.locator("ins").count() > 0
    steps.shot("near-duplicate-diff", full_page=False)


FASTCHAT = "fastchat_dummy_conversation_with_system.json"


def floor3(value: float) -> str:
    """A similarity as the page writes it: rounded down to 3 decimals, the shortest way (0.8, 0.719)."""
    text = f"{math.floor(value * 1000) / 1000}"
    return text.removesuffix(".0") if text.endswith(".0") else text


def test_near_duplicate_groups_show_their_verified_similarity_and_compare_shows_every_member(
    page: Page, steps: Steps, width: int, live_server: LiveServer, analysed: dict[str, str]
) -> None:
    session_id = analysed[FASTCHAT]
    with live_server.api() as api:
        near = api.get(f"/analyze/{session_id}").json()["report"]["duplicates"]["near"]
        listed = api.get(f"/preview/{session_id}/duplicates/near", params={"page": 1, "page_size": 20}).json()
    big = next(g for g in listed["groups"] if g["size"] > 5)  # more records than one page of the compare panel
    open_dataset(page, live_server, session_id)
    section = page.locator(".dup-kind[data-kind=near]")
    threshold = floor3(near["threshold"])
    expect(section).to_contain_text(f"Similarity ≥ {threshold} (true Jaccard similarity, each pair checked).")
    expect(section).to_contain_text(f"{near['verified_pairs']:,} of {near['candidate_pairs']:,} candidate pairs")
    section.get_by_text("What the similarity means").click()
    expect(section.locator(".near-meaning .meaning")).to_have_text(near["meaning"])
    groups = section.locator("li.dup-group")
    for i, group in enumerate(listed["groups"][:3]):  # each group's own verified figure, as the server gives it
        expect(groups.nth(i).locator("p").first).to_contain_text(
            f"Group {group['group'] + 1} ({group['size']} records, similarity at least {floor3(group['similarity'])})")
    item = groups.nth(listed["groups"].index(big))
    item.get_by_role("button", name="Compare side by side").click()
    expect(item.get_by_role("heading", name=f"All {big['size']} records of group {big['group'] + 1}")).to_be_visible()
    shown: list[int] = []
    members = item.locator(".compare-members")
    for page_number in range(1, math.ceil(big["size"] / 5) + 1):
        first = (page_number - 1) * 5 + 1
        expect(members.locator(".member-range")).to_have_text(
            f"Records {first}–{min(first + 4, big['size'])} of the group's {big['size']}")
        articles = members.locator("article.example")
        shown += [int(i) for i in articles.evaluate_all("(a) => a.map((x) => x.dataset.index)")]
        if page_number * 5 < big["size"]:
            members.get_by_role("button", name="Next records").click()
    assert shown == [m["index"] for m in big["members"]]  # every member, in order, none left out
    assert page.locator(f"#record-{shown[0]}").count() <= 1  # the copies take no record id of the data browser
    expect(item.locator(".side-by-side article.diff-side")).to_have_count(2)
    assert int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")) <= 0
    steps.shot("near-group-every-member", full_page=False)
