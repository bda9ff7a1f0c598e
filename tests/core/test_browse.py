"""Browsing the analysis store: queries, selection order, log bins; and the recommender's wording."""

from __future__ import annotations

import dataclasses
import doctest
from pathlib import Path

import numpy as np
import pytest

import backend.core.browse.histogram
import backend.core.browse.query
import backend.core.recommend.engine
from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.browse import ExampleQuery, log_histogram, read_positions, select_examples
from backend.core.errors import InvalidInputError
from backend.core.recommend import RecommendRequest, recommend_models
from tests.conftest import shared_file


@pytest.mark.parametrize(
    "module", [backend.core.browse.histogram, backend.core.browse.query, backend.core.recommend.engine]
)
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"role": "robot"}, "role"),
        ({"min_tokens": 10, "max_tokens": 5}, "min_tokens"),
        ({"min_tokens": -1}, "min_tokens"),
        ({"text": "x" * 201}, "q"),
        ({"records": tuple(range(1001))}, "records"),
    ],
)
def test_bad_queries_name_their_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ExampleQuery(**fields)  # type: ignore[arg-type]
    assert caught.value.fields["field"] == field


@pytest.fixture(scope="module")
def toy_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("toy-store")
    analyze_file(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"), AnalysisOptions(), store)
    return store


def test_selection_combines_filters_and_keeps_file_order_among_equals(toy_store: Path) -> None:
    # the cookbook's totals: 45, 111, 26, 28, 8032
    picked = select_examples(toy_store, ExampleQuery(max_tokens=200, sort="tokens_asc"))
    assert picked.positions.tolist() == [2, 3, 0, 1] and picked.total_examples == 5
    picked = select_examples(toy_store, ExampleQuery(records=(4, 2, 77), sort="tokens_desc"))
    assert picked.positions.tolist() == [4, 2] and picked.missing_records == (77,)
    banana = select_examples(toy_store, ExampleQuery(text="eat a BANANA", role="assistant"))
    assert [e.index for e in read_positions(toy_store, banana.positions)] == [4]


def test_a_text_scan_is_asked_of_the_cache_once_per_query(toy_store: Path) -> None:
    asked: list[ExampleQuery] = []

    def cache(query: ExampleQuery, compute: object) -> np.ndarray:  # type: ignore[type-arg]
        asked.append(query)
        return compute()  # type: ignore[operator,no-any-return]

    select_examples(toy_store, ExampleQuery(text="banana"), cache)
    select_examples(toy_store, ExampleQuery(min_tokens=10), cache)  # answered by the index alone
    assert [q.text for q in asked] == ["banana"]


def test_log_histogram_of_one_value_and_of_nothing() -> None:
    assert [(b.lo, b.hi, b.count) for b in log_histogram(np.array([1]))] == [(1, 2, 1)]
    assert log_histogram(np.array([], dtype=np.int64)) == []


def test_language_banner_never_says_zero_percent_and_tasks_read_as_words() -> None:
    profile = dataclasses.replace(
        _profile(), languages={"en": 0.9767, "hi": 0.01, "ar": 0.0067, "zh": 0.0033, "fr": 0.0033}
    )
    result = recommend_models(profile, RecommendRequest.create("tool_calling", "cloud"))
    [banner] = [w for w in result.warnings if w.startswith("Non-English")]
    assert "hi 1%, ar 0.7%, fr 0.3%, zh 0.3%" in banner and " 0%" not in banner
    texts = [t for r in result.recommendations for t in (*r.reasons, *r.warnings)]
    assert not [t for t in texts if "tool_calling" in t]
    assert any("tool calling" in t for t in texts)


def _profile():  # type: ignore[no-untyped-def]
    from backend.core.conversation import DatasetProfile

    return DatasetProfile(num_examples=300, total_tokens=90_000, p95_tokens=600, max_tokens=900,
                          mean_assistant_tokens=80.0, system_prompt_share=0.0, multi_turn_share=0.3,
                          non_alternating_share=0.0, tool_call_share=0.5, json_output_share=0.0,
                          languages={"en": 1.0}, tokenizer="cl100k_base", tokens_exact=True)
