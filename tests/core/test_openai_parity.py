"""One implementation of the OpenAI cookbook's formula, used by the report and by this test's oracle.

Before, a file with `weight` on its messages gave a mean of 22.0 tokens per example in the main
figures (which skipped the weight) and 23.0 in the cookbook section (which counted it as "1").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.core.analysis import AnalysisOptions, analyze_file, read_examples
from backend.core.tokens import count_openai_chat_tokens, get_counter
from backend.core.tokens.openai_encodings import load_openai_encoding

RECORDS = [
    {"messages": [{"role": "user", "content": "What is the capital of France?"},
                  {"role": "assistant", "content": "Lyon?", "weight": 0},
                  {"role": "user", "content": "Are you sure?"},
                  {"role": "assistant", "content": "Sorry: it is Paris.", "weight": 1}]},
    {"messages": [{"role": "system", "content": "Be terse."},
                  {"role": "user", "content": "2+2?"},
                  {"role": "assistant", "content": "4", "weight": 1}]},
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!", "weight": 0}]},
]


def cookbook_by_hand(messages: list[dict[str, object]]) -> int:
    """The cookbook's loop, written out: every value of every message encoded (as text)."""
    encoding = load_openai_encoding("cl100k_base")
    total = 3
    for message in messages:
        total += 3 + (1 if "name" in message else 0)
        texts = [v if isinstance(v, str) else json.dumps(v) for v in message.values()]
        total += sum(len(encoding.encode_ordinary(text)) for text in texts)
    return total


@pytest.fixture
def report_and_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "weights.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return analyze_file(path, AnalysisOptions(), tmp_path / "store"), tmp_path / "store"


def test_main_figures_and_the_cookbook_section_agree_with_the_cookbook(report_and_store) -> None:  # type: ignore[no-untyped-def]
    report, store = report_and_store
    expected = [cookbook_by_hand(r["messages"]) for r in RECORDS]
    assert expected == [count_openai_chat_tokens(r["messages"], get_counter("cl100k_base")) for r in RECORDS]
    assert [e.token_count for e in read_examples(store, 0, 3)] == expected
    mean = round(sum(expected) / len(expected), 4)
    assert report.distributions.tokens_per_example.mean == report.openai.total_tokens_per_example.mean == mean


def test_weight_zero_turns_are_not_trained_tokens(report_and_store) -> None:  # type: ignore[no-untyped-def]
    report, store = report_and_store
    count = get_counter("cl100k_base").count
    trained = [count("Sorry: it is Paris."), count("4"), 0]
    assert [e.assistant_tokens for e in read_examples(store, 0, 3)] == trained
    issue = report.issue("nothing_trained")  # the third example's only reply has weight 0
    assert issue is not None and [r.index for r in issue.examples] == [2]
    # the cookbook's own assistant figure counts every assistant content, weight or not
    assert report.openai.assistant_tokens_per_example.max == count("Lyon?") + count("Sorry: it is Paris.")


def test_openai_messages_under_conversations_get_one_piece_of_advice(tmp_path: Path) -> None:
    # Before: "Error: N records fail OpenAI's checks", every record listed as missing_messages_list.
    path = tmp_path / "conversations.jsonl"
    record = {"conversations": RECORDS[1]["messages"]}
    path.write_text((json.dumps(record) + "\n") * 40, encoding="utf-8")
    report = analyze_file(path, AnalysisOptions(), tmp_path / "store")
    assert report.file.format == "openai_messages"
    assert report.openai.records_with_errors == 0 and report.issue("openai_format_error") is None
    assert report.openai.messages_under_conversations == 40 and report.openai.applies_to == 40
    issue = report.issue("messages_under_conversations")
    assert issue is not None and issue.count == 40 and issue.examples == []
    assert "rename the key 'conversations' to 'messages'" in issue.advice
    assert [d.points for d in report.quality.deductions if d.code == "messages_under_conversations"] == [2]
