"""The analysis's building blocks: exact fast counting, cookbook categories, PII, languages, stats, score."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core.analysis import openai_format
from backend.core.analysis.fastcount import make_fast_counter
from backend.core.analysis.language import detect_language
from backend.core.analysis.pii import find_pii
from backend.core.analysis.report import Issue
from backend.core.analysis.score import score_quality
from backend.core.analysis.stats import bucket_tokens, describe
from backend.core.tokens import count_openai_chat_tokens, get_counter
from backend.core.tokens.openai_encodings import load_openai_encoding
from tests.conftest import shared_file

# --- exact fast counting ------------------------------------------------------------------------

TRICKY = [
    "",
    " ",
    "  ",
    "a  b",
    "a \u00a0 b",
    "\u00a0  b",
    "x\n y",
    "end. Next",
    "( word",
    "1 234 5678",
    "it's  'll",
    "tab\t x",
    " leading",
    "trailing ",
    "emoji 😀 ok",
    "東京 の 天気",
    "a\r\n b",
    "<|endoftext|> x",
    "x" * 3000,
    "word " * 500,
    "½ ¾ x",
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_fast_counter_equals_the_tokenizer_on_tricky_texts(name: str) -> None:
    counter = get_counter(name)
    fast = make_fast_counter(counter)
    assert fast is not None
    expected = [len(load_openai_encoding(name).encode_ordinary(t)) for t in TRICKY]  # lone surrogate too
    assert fast.count_batch(TRICKY) == expected
    assert fast.count_batch(TRICKY) == expected  # and again, from its cache


def thue_morse(length: int, letters: str) -> str:
    return "".join(letters[bin(i).count("1") % 2] for i in range(length))


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_fast_counter_cannot_be_fooled_by_a_hash_collision(name: str) -> None:
    # A Thue-Morse string and its complement collide in every polynomial hash modulo 2^64 (the
    # segment cache's old key): the second one was counted with the first one's count.
    first, second = thue_morse(2048, "xy"), thue_morse(2048, "yx")
    encoding = load_openai_encoding(name)
    expected = [len(encoding.encode_ordinary(first)), len(encoding.encode_ordinary(second))]
    assert expected[0] != expected[1]
    assert make_fast_counter(get_counter(name)).count_batch([first, second]) == expected  # in one batch
    fast = make_fast_counter(get_counter(name))
    assert fast is not None
    assert [fast.count_batch([first])[0], fast.count_batch([second])[0]] == expected  # from the cache
    assert fast.count_batch([second, first, second]) == [expected[1], expected[0], expected[1]]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab .,'\n\t\u00a0 xé東1")), max_size=40), max_size=30))
def test_fast_counter_equals_the_tokenizer_on_generated_texts(texts: list[str]) -> None:
    counter = get_counter("cl100k_base")
    fast = make_fast_counter(counter)
    assert fast is not None
    assert fast.count_batch(texts) == counter.count_batch(texts)


@pytest.mark.parametrize(
    "name", ["fastchat_dummy_conversation_with_system.json", "llamafactory_glaive_toolcall_en_demo.json"]
)
def test_fast_counter_equals_the_tokenizer_on_real_messages(name: str) -> None:
    records = json.loads(shared_file(name).read_text(encoding="utf-8"))
    texts = [turn["value"] for r in records for turn in r["conversations"]]
    counter = get_counter("cl100k_base")
    fast = make_fast_counter(counter)
    assert fast is not None
    assert fast.count_batch(texts) == counter.count_batch(texts)


def test_fast_counter_is_not_used_for_other_tokenizers() -> None:
    assert make_fast_counter(get_counter("llama-3.2")) is None


# --- the cookbook's seven categories --------------------------------------------------------------

COOKBOOK_CASES: list[tuple[Any, list[str]]] = [
    ([{"role": "user", "content": "hi"}], ["data_type"]),
    ({"prompt": "hi"}, ["missing_messages_list"]),
    ({"messages": []}, ["missing_messages_list"]),
    (
        {"messages": [{"role": "user"}, {"role": "assistant", "content": "ok"}]},
        ["message_missing_key", "missing_content"],
    ),
    (
        {
            "messages": [
                {"role": "user", "content": "hi", "mood": "happy"},
                {"role": "assistant", "content": "ok"},
            ]
        },
        ["message_unrecognized_key"],
    ),
    (
        {"messages": [{"role": "human", "content": "hi"}, {"role": "assistant", "content": "ok"}]},
        ["unrecognized_role"],
    ),
    (
        {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "ok"}]},
        ["missing_content"],
    ),
    ({"messages": [{"role": "user", "content": "hi"}]}, ["example_missing_assistant_message"]),
    (
        {
            "messages": [
                {"role": "user", "content": "t?"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function"}]},
                {"role": "tool", "content": "12:00", "tool_call_id": "1"},
                {"role": "assistant", "content": "noon"},
            ]
        },
        [],
    ),
]


@pytest.mark.parametrize(("raw", "errors"), COOKBOOK_CASES)
def test_cookbook_categories(raw: Any, errors: list[str]) -> None:
    counter = get_counter("cl100k_base")
    texts = list(openai_format.iter_cookbook_texts(raw))
    counts = dict(zip(texts, counter.count_batch(texts), strict=True))
    verdict = openai_format.validate_record(raw, counts)
    assert sorted(verdict.errors) == sorted(errors)
    assert set(verdict.errors) <= set(openai_format.FORMAT_ERRORS)


def test_cookbook_tokens_equal_the_tokens_module_formula() -> None:
    counter = get_counter("cl100k_base")
    for line in shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl").read_text().splitlines():
        raw = json.loads(line)
        texts = list(openai_format.iter_cookbook_texts(raw))
        counts = dict(zip(texts, counter.count_batch(texts), strict=True))
        assert openai_format.validate_record(raw, counts).total_tokens == count_openai_chat_tokens(
            raw["messages"], counter
        )


# --- PII and languages -----------------------------------------------------------------------------

PII_CASES = [
    ("write to ann.lee+tag@mail.example.co.uk", {"email"}),
    ("call +44 20 7946 0958 or (415) 555-0132", {"phone"}),
    ("AKIAIOSFODNN7EXAMPLE", {"aws_access_key"}),
    ("sk-proj-" + "A1b2" * 10, {"openai_key"}),
    ("ghp_" + "x" * 36, {"github_token"}),
    ("xoxp-123456789012-abcdef", {"slack_token"}),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", {"private_key"}),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlX2hlcmU", {"jwt"}),
    ("version 1.2.3, year 2024, 100 items, price 35.50, isbn 9780306406157", set()),
    ("user@localhost has no dot", set()),
    ("server 192.168.100.200 and 10.0.0.1", set()),
    ("we use sk-learn-classification-pipeline-tools", set()),
]


@pytest.mark.parametrize(("text", "kinds"), PII_CASES)
def test_pii(text: str, kinds: set[str]) -> None:
    assert find_pii(text) == kinds


LANGUAGE_CASES = [
    ("The weather is nice today and I would like to go for a walk in the park.", "en"),
    ("Hoy hace buen tiempo y me gustaría dar un paseo por el parque con mi perro.", "es"),
    ("Il fait beau aujourd'hui et je voudrais me promener dans le parc avec vous.", "fr"),
    ("Das Wetter ist heute schön und ich möchte mit dir im Park spazieren gehen.", "de"),
    ("Oggi il tempo è bello e vorrei fare una passeggiata nel parco con te.", "it"),
    ("Hoje o tempo está bom e eu gostaria de dar um passeio no parque com você.", "pt"),
    ("Het weer is vandaag mooi en ik wil graag een wandeling maken in het park.", "nl"),
    ("Сегодня хорошая погода, и я хотел бы погулять в парке.", "ru"),
    ("Сьогодні гарна погода, і я хотів би погуляти в парку.", "uk"),
    ("今天天气很好，我想去公园散步。", "zh"),
    ("今日はいい天気なので、公園を散歩したいです。", "ja"),
    ("오늘은 날씨가 좋아서 공원에서 산책하고 싶어요.", "ko"),
    ("الطقس جميل اليوم وأود أن أتمشى في الحديقة.", "ar"),
    ("def f(x): return x ** 2", "und"),
]


@pytest.mark.parametrize(("text", "lang"), LANGUAGE_CASES)
def test_languages(text: str, lang: str) -> None:
    assert detect_language(text) == lang


# --- distributions and score -----------------------------------------------------------------------


def test_describe_matches_numpy() -> None:
    values = np.array([45, 111, 26, 28, 8032], dtype=np.int64)
    d = describe(values)
    assert (d.count, d.min, d.max, d.mean, d.median) == (5, 26, 8032, 1648.4, 45)
    assert d.p5 == pytest.approx(np.percentile(values, 5)) and d.p95 == pytest.approx(
        np.percentile(values, 95)
    )
    assert sum(b.count for b in d.histogram) == 5
    assert d.histogram[0].lo == 26 and d.histogram[-1].hi > 8032
    assert bucket_tokens(values) == {"0-100": 3, "100-500": 1, "500-1000": 0, "1000+": 1}
    assert describe(np.zeros(0, dtype=np.int64)).count == 0


def _issue(code: str, count: int) -> Issue:
    return Issue(code=code, severity="warning", title=f"{count} things", detail="d", advice="a", count=count)


@pytest.mark.parametrize(
    ("issues", "total", "expected_score", "expected_points"),
    [
        ([], 1000, 100, {}),
        # what a training run loses weighs in proportion: 94% duplicates cost 94 points (it was 15, capped)
        ([_issue("exact_duplicate", 940)], 1000, 6, {"exact_duplicate": 94}),
        ([_issue("exact_duplicate", 1)], 1000, 99, {"exact_duplicate": 1}),  # any occurrence costs a point
        ([_issue("unusable_record", 100)], 1000, 90, {"unusable_record": 10}),  # 10% of the records
        ([_issue("near_duplicate", 300)], 1000, 85, {"near_duplicate": 15}),  # half their share
        ([_issue("read_partly", 1)], 1000, 80, {"read_partly": 20}),
        ([_issue("extra_keys", 1000)], 1000, 100, {}),  # informational: free
        ([_issue("preference_data", 1000)], 1000, 100, {}),
        ([_issue("mixed_formats", 2)], 1000, 95, {"mixed_formats": 5}),
        ([_issue("missing_assistant", 50)], 1000, 90, {"missing_assistant": 10}),  # 5%: half the cap
        ([], 5, 80, {"too_few_examples": 20}),
    ],
)
def test_score_deductions(
    issues: list[Issue], total: int, expected_score: int, expected_points: dict[str, int]
) -> None:
    quality = score_quality(issues, total_examples=total, records_total=total)
    assert quality.score == expected_score
    assert {d.code: d.points for d in quality.deductions} == expected_points
    assert all(d.reason for d in quality.deductions)


def test_openai_format_errors_are_a_share_of_records() -> None:
    # the cookbook counts records, unusable ones included: 5 of 100 records, not 5 of 50 examples
    quality = score_quality([_issue("openai_format_error", 5)], total_examples=50, records_total=100)
    deduction = next(d for d in quality.deductions if d.code == "openai_format_error")
    assert deduction.points == 5
    assert "5.0% of 100" in deduction.reason


def test_a_file_with_no_usable_example_scores_zero() -> None:
    # it scored 50/100 before: 30 points for unusable records (capped) and 20 for too few examples
    quality = score_quality([_issue("unusable_record", 1140)], total_examples=0, records_total=1140)
    assert quality.score == 0
    assert {d.code for d in quality.deductions} == {"no_usable_examples", "unusable_record"}
    assert all(d.reason for d in quality.deductions)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 .-()+x")), max_size=40))
def test_the_phone_prefilter_never_hides_a_match(text: str) -> None:
    # the cheap digit count before the regexes only skips texts the phone pattern cannot match
    from backend.core.analysis import pii

    if pii._PHONE.search(text):
        assert pii._has_phone_digits(text) and "phone" in find_pii(text)
