"""Every check of the analysis on small crafted files: its count and the record numbers it lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.core.analysis import AnalysisOptions, Report, analyze_file, read_examples
from backend.core.tokens import get_counter


def msg(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


def chat(*messages: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"messages": list(messages), **top}


GOOD = chat(
    msg("user", "What is the capital of France?"), msg("assistant", "The capital of France is Paris.")
)


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def analyse(tmp_path: Path, records: list[Any], **options: Any) -> Report:
    source = write_jsonl(tmp_path / "data.jsonl", records)
    return analyze_file(source, AnalysisOptions(**options), tmp_path / "store")


CALL = {"id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}

# (code, records, expected count, expected record indexes listed)
CHECK_CASES: list[tuple[str, list[Any], int, list[int]]] = [
    (
        "consecutive_same_role",
        [
            GOOD,
            chat(msg("user", "Hello there"), msg("user", "Anyone?"), msg("assistant", "Yes, I am here.")),
            GOOD,
        ],
        1,
        [1],
    ),
    (
        "assistant_first",
        [
            chat(
                msg("system", "Be nice."),
                msg("assistant", "Welcome to the shop!"),
                msg("user", "Thanks"),
                msg("assistant", "You are welcome."),
            ),
            GOOD,
            GOOD,
        ],
        1,
        [0],
    ),
    (
        "not_ending_with_assistant",
        [GOOD, GOOD, chat(msg("user", "Hi"), msg("assistant", "Hello, how can I help?"), msg("user", "Bye"))],
        1,
        [2],
    ),
    ("missing_assistant", [GOOD, chat(msg("user", "Is anybody there?")), GOOD], 1, [1]),
    ("missing_user", [chat(msg("system", "Be nice."), msg("assistant", "Hello friend!")), GOOD], 1, [0]),
    (
        "empty_content",
        [
            GOOD,
            chat(msg("user", "   "), msg("assistant", "Could you say more?")),
            chat(msg("user", "Hi"), msg("assistant", "")),
        ],
        2,
        [1, 2],
    ),
    ("short_reply", [GOOD, chat(msg("user", "Is water wet?"), msg("assistant", "Yes.")), GOOD], 1, [1]),
    (
        "unknown_role",
        [GOOD, chat(msg("narrator", "Once upon a time"), msg("assistant", "there was a test.")), GOOD],
        1,
        [1],
    ),
    ("extra_keys", [GOOD, {**GOOD, "source": "forum"}, {**GOOD, "id": 7}], 2, [1, 2]),
    (
        "non_string_content",
        [
            GOOD,
            # one text part is plain text (nothing to report); two are joined, and an image is left out
            chat(msg("user", [{"type": "text", "text": "Describe this."}]), msg("assistant", "It is a cat.")),
            chat(
                msg("user", [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {}}]),
                msg("assistant", "It is a cat."),
            ),
        ],
        1,
        [2],
    ),
    (
        "tool_call_without_result",
        [
            chat(
                msg("user", "What time is it?"),
                msg("assistant", None, tool_calls=[CALL]),
                msg("tool", "12:00", tool_call_id="call_1"),
                msg("assistant", "It is noon."),
            ),
            chat(
                msg("user", "What time is it?"),
                msg("assistant", None, tool_calls=[CALL]),
                msg("assistant", "I could not find out."),
            ),
        ],
        1,
        [1],
    ),
    (
        "pii_email",
        [GOOD, chat(msg("user", "Mail jane.doe@example.com please"), msg("assistant", "Sent it."))],
        1,
        [1],
    ),
    (
        "pii_phone",
        [chat(msg("user", "Call me at (415) 555-0132 tonight"), msg("assistant", "I will call.")), GOOD],
        1,
        [0],
    ),
    (
        "secret",
        [
            GOOD,
            chat(msg("user", "my key is AKIAIOSFODNN7EXAMPLE"), msg("assistant", "Please revoke it.")),
            chat(msg("user", "token ghp_" + "a1B2" * 9), msg("assistant", "Please revoke it.")),
            chat(msg("user", "-----BEGIN RSA PRIVATE KEY-----\nMIIE"), msg("assistant", "Never share keys.")),
            chat(msg("user", "sk-" + "x1" * 20), msg("assistant", "Please revoke it.")),
            chat(msg("user", "xoxb-1234567890-abcdef"), msg("assistant", "Please revoke it.")),
            chat(
                msg("user", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"),
                msg("assistant", "That is a token."),
            ),
        ],
        6,
        [1, 2, 3, 4, 5, 6],
    ),
    ("unusable_record", [GOOD, "just a string", {"foo": 1}, GOOD], 2, [1, 2]),
    (
        "exact_duplicate",
        [GOOD, {**GOOD, "source": "x"}, chat(msg("user", "Hi"), msg("assistant", "Hello!!!!!")), GOOD],
        2,
        [1, 3],
    ),
    (
        "prompt_duplicate",
        [
            GOOD,
            chat(msg("user", "What is the capital of France?"), msg("assistant", "Paris, of course.")),
            chat(msg("user", "Another question entirely"), msg("assistant", "Another answer entirely.")),
        ],
        1,
        [1],
    ),
    (
        "mixed_formats",
        [GOOD, GOOD, GOOD, {"instruction": "Add 2 and 2", "output": "4 is the answer"}],
        2,
        [3],
    ),
    (
        "system_prompt_in_some",
        [GOOD, chat(msg("system", "Be brief."), *GOOD["messages"]), GOOD, GOOD],
        1,
        [1],
    ),
]


@pytest.mark.parametrize(
    ("code", "records", "count", "indexes"), CHECK_CASES, ids=[c[0] for c in CHECK_CASES]
)
def test_check_counts_and_lists_records(
    tmp_path: Path, code: str, records: list[Any], count: int, indexes: list[int]
) -> None:
    report = analyse(tmp_path, records)
    issue = report.issue(code)
    assert issue is not None, f"{code} not reported; issues: {[i.code for i in report.issues]}"
    assert issue.count == count
    assert [ref.index for ref in issue.examples] == indexes
    # JSONL: every listed record carries its 1-based line (one record per line here)
    assert [ref.line for ref in issue.examples] == [i + 1 for i in indexes]
    assert issue.title and issue.detail and issue.advice


def test_clean_file_has_no_record_issues(tmp_path: Path) -> None:
    records = [
        chat(
            msg("user", f"Question number {i}: what is {i} plus {i}?"),
            msg("assistant", f"The sum of {i} and {i} is {2 * i}."),
        )
        for i in range(120)
    ]
    report = analyse(tmp_path, records)
    assert [i.code for i in report.issues] == []
    assert report.quality_score == 100
    assert report.format_valid is True


def test_unusable_records_are_counted_and_listed(tmp_path: Path) -> None:
    source = tmp_path / "data.jsonl"
    source.write_text(
        json.dumps(GOOD) + "\n{not json\n" + json.dumps([1, 2]) + "\n" + json.dumps(GOOD) + "\n"
    )
    report = analyze_file(source, AnalysisOptions(), tmp_path / "store")
    assert report.records_total == 4
    assert report.total_examples == 2
    assert report.records_unusable == 2
    assert report.records_total == report.total_examples + report.records_unusable
    assert [(u.index, u.line) for u in report.unusable] == [(1, 2), (2, 3)]
    assert all(u.message and u.code for u in report.unusable)
    assert report.format_valid is False
    # the cookbook counts the array record as data_type; the unreadable line it could not have loaded at all
    assert report.openai.format_errors["data_type"] == 1


def test_many_distinct_system_prompts(tmp_path: Path) -> None:
    records = [chat(msg("system", f"You are assistant number {i}."), *GOOD["messages"]) for i in range(12)]
    report = analyse(tmp_path, records)
    issue = report.issue("many_system_prompts")
    assert issue is not None and issue.count == 12
    assert [r.index for r in issue.examples] == list(range(12))
    assert report.system_prompts.distinct == 12 and report.system_prompts.examples_with == 12
    assert report.issue("system_prompt_in_some") is None


def test_truncation_prediction(tmp_path: Path) -> None:
    long_prompt = "word " * 300  # 300 tokens with cl100k_base
    records = [
        GOOD,
        chat(msg("user", "Say a lot."), msg("assistant", "word " * 200)),  # reply cut part-way
        chat(
            msg("user", long_prompt), msg("assistant", "A reply that starts too late.")
        ),  # reply cut entirely
    ]
    report = analyse(tmp_path, records, max_seq_length=128)
    trunc = report.truncation
    assert trunc.max_seq_length == 128
    assert trunc.examples_over == 2
    assert [r.index for r in trunc.examples] == [1, 2]
    assert trunc.examples_losing_all_assistant_tokens == 1
    assert [r.index for r in trunc.losing_all_examples] == [2]
    stored = read_examples(tmp_path / "store", 0, 3)
    assert trunc.tokens_cut == (stored[1].token_count - 128) + (stored[2].token_count - 128)
    # example 1's reply starts after the user turn (3 + role + content) and its own 3 + role tokens
    count = get_counter("cl100k_base").count
    reply_start = 3 + count("user") + count("Say a lot.") + 3 + count("assistant")
    assert (
        trunc.assistant_tokens_cut
        == (stored[1].assistant_tokens - (128 - reply_start)) + stored[2].assistant_tokens
    )
    assert report.issue("over_max_seq_length") is not None
    assert report.issue("all_assistant_tokens_cut") is not None


def test_languages_are_detected(tmp_path: Path) -> None:
    records = [
        chat(
            msg("user", "Where is the nearest train station, please?"),
            msg("assistant", "It is two streets away, next to the old market."),
        ),
        chat(
            msg("user", "¿Dónde está la estación de tren más cercana?"),
            msg("assistant", "Está a dos calles, junto al mercado viejo."),
        ),
        chat(
            msg("user", "Où est la gare la plus proche, s'il vous plaît ?"),
            msg("assistant", "Elle est à deux rues, à côté du vieux marché."),
        ),
        chat(msg("user", "東京の天気はどうですか？"), msg("assistant", "今日は晴れです。")),
    ]
    report = analyse(tmp_path, records)
    assert report.languages.counts == {"en": 1, "es": 1, "fr": 1, "ja": 1}
    assert report.languages.sampled == 4
    assert report.profile().languages == {"en": 0.25, "es": 0.25, "fr": 0.25, "ja": 0.25}


def test_near_duplicates(tmp_path: Path) -> None:
    story = (
        "Once upon a time a small fox lived at the edge of a quiet forest and every morning it walked down "
        "to the river to drink, watch the fish and listen to the birds singing in the tall old trees"
    )
    records = [
        chat(msg("user", "Tell me a story."), msg("assistant", story)),
        GOOD,
        chat(msg("system", "Be kind."), msg("user", "Tell me a story."), msg("assistant", story + " again")),
        chat(msg("user", "Tell me a story."), msg("assistant", story)),  # exact copy of 0: reported as exact
    ]
    report = analyse(tmp_path, records)
    near = report.duplicates.near
    assert (near.count, near.groups_count) == (1, 1)
    assert [[r.index for r in g] for g in near.groups] == [[0, 2]]
    assert (
        0.7 < near.threshold < 0.75
        and "MinHash" in near.method
        and "system prompts left out" in near.hashed_text
    )
    assert report.duplicates.exact.count == 1 and report.duplicates.exact.examples[0].index == 3
    issue = report.issue("near_duplicate")
    assert issue is not None and [r.index for r in issue.examples] == [2]


def test_profile_shares_for_the_recommender(tmp_path: Path) -> None:
    records = [
        chat(msg("user", "Extract the city: I live in Oslo."), msg("assistant", '{"city": "Oslo"}')),
        chat(
            msg("user", "What time is it?"),
            msg("assistant", None, tool_calls=[CALL]),
            msg("tool", "12:00", tool_call_id="call_1"),
            msg("assistant", "It is noon."),
        ),
        chat(
            msg("system", "Be brief."), msg("user", "Hi"), msg("user", "Hello?"), msg("assistant", "Hello!")
        ),
        chat(
            msg("user", "One"),
            msg("assistant", "First answer."),
            msg("user", "Two"),
            msg("assistant", "Second answer."),
        ),
    ]
    report = analyse(tmp_path, records)
    profile = report.profile()
    assert profile.num_examples == 4
    assert profile.json_output_share == 0.25
    assert profile.tool_call_share == 0.25
    assert profile.non_alternating_share == 0.25
    assert profile.system_prompt_share == 0.25
    assert profile.multi_turn_share == 0.5  # more than one user turn: records 2 and 3
    assert profile.max_tokens == report.distributions.tokens_per_example.max
    assert profile.total_tokens == report.total_tokens
    assert profile.tokenizer == "cl100k_base" and profile.tokens_exact is True


def test_a_repeated_word_does_not_decide_the_language() -> None:
    from backend.core.analysis.language import detect_language

    # The cookbook's record 5: one short English sentence repeated; "a" is also a Portuguese word.
    assert detect_language("I'm hungry. " + "Eat a banana!" * 2000) == "und"  # one function word: too little
    assert detect_language("I am hungry. " + "Eat a banana!" * 2000) == "en"
    assert detect_language("Eu não sei se você vai gostar muito disso, mas é o que temos para hoje.") == "pt"


def test_openai_format_errors_are_worded_as_such(tmp_path: Path) -> None:
    records = [GOOD, {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}, GOOD]
    report = analyse(tmp_path, records)
    issue = report.issue("openai_format_error")
    assert issue is not None and issue.count == 1
    assert [ref.index for ref in issue.examples] == [1]
    assert issue.severity == "error"
    assert "OpenAI" in issue.title and "ingest" not in issue.advice
