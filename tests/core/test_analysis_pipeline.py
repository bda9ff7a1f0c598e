"""The parallel pipeline (chunked with a process pool == single pass) and the canonical store."""

from __future__ import annotations

import json
import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from backend.core.analysis import (
    AnalysisOptions,
    Report,
    analyze_chunk,
    analyze_file,
    count_examples,
    iter_canonical,
    merge_results,
    plan_analysis,
    read_examples,
    read_examples_by_index,
)
from backend.core.errors import NotFoundError
from tests.conftest import shared_file

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


def make_mixed_file(path: Path, n: int, seed: int = 7) -> Path:
    """A JSONL file exercising most checks: system prompts in some, multi-turn, duplicates, bad lines."""
    rng = random.Random(seed)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran", "to", "big", "red", "house"]
    lines: list[str] = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.02:
            lines.append("{broken json")
            continue
        if roll < 0.05 and lines:
            lines.append(rng.choice([x for x in lines if x.startswith('{"')] or lines))
            continue
        messages: list[dict[str, Any]] = []
        if rng.random() < 0.3:
            messages.append({"role": "system", "content": rng.choice(["Be brief.", "You are kind."])})
        for _ in range(rng.choice([1, 1, 2])):
            messages.append({"role": "user", "content": " ".join(rng.choices(words, k=rng.randint(3, 40)))})
            messages.append(
                {"role": "assistant", "content": " ".join(rng.choices(words, k=rng.randint(1, 300)))}
            )
        if rng.random() < 0.05:
            messages.append({"role": "user", "content": f"mail me at user{i}@example.com"})
        lines.append(json.dumps({"messages": messages}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def comparable(report: Report) -> dict[str, Any]:
    return report.model_dump(mode="json", exclude={"timings"})


@pytest.mark.parametrize("source", ["axolotl", "mixed"])
def test_chunked_parallel_and_single_pass_give_the_same_report(tmp_path: Path, source: str) -> None:
    path = shared_file(AXOLOTL) if source == "axolotl" else make_mixed_file(tmp_path / "mixed.jsonl", 1500)
    single = analyze_file(path, AnalysisOptions(max_seq_length=256), tmp_path / "single")
    options = AnalysisOptions(max_seq_length=256, chunk_bytes=64 * 1024)
    assert len(plan_analysis(path, options).chunks) > 4
    fractions: list[float] = []
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        chunked = analyze_file(
            path, options, tmp_path / "chunked", executor=pool, on_progress=fractions.append
        )
    assert comparable(chunked) == comparable(single)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert list(iter_canonical(tmp_path / "single")) == list(iter_canonical(tmp_path / "chunked"))
    assert single.records_total == single.total_examples + single.records_unusable


def test_chunks_merge_in_any_order(tmp_path: Path) -> None:
    path = make_mixed_file(tmp_path / "mixed.jsonl", 600)
    plan = plan_analysis(path, AnalysisOptions(chunk_bytes=16 * 1024))
    results = [analyze_chunk(plan, n, tmp_path / "store") for n in reversed(range(len(plan.chunks)))]
    report = merge_results(plan, results, tmp_path / "store")
    reference = analyze_file(path, AnalysisOptions(), tmp_path / "reference")
    assert comparable(report) == comparable(reference)


def test_mixed_file_figures(tmp_path: Path) -> None:
    path = make_mixed_file(tmp_path / "mixed.jsonl", 1500)
    report = analyze_file(path, AnalysisOptions(max_seq_length=256), tmp_path / "store")
    lines = path.read_text().splitlines()
    broken = [i for i, line in enumerate(lines) if line == "{broken json"]
    assert report.records_total == 1500
    assert report.records_unusable == len(broken)
    assert [u.index for u in report.unusable] == broken[:20]
    assert [u.line for u in report.unusable] == [i + 1 for i in broken[:20]]
    parsed = [json.loads(line) for line in lines if line != "{broken json"]
    assert report.total_examples == len(parsed)
    assert report.system_prompt_share == pytest.approx(
        sum(any(m["role"] == "system" for m in r["messages"]) for r in parsed) / len(parsed)
    )
    assert report.issue("pii_email").count == sum("@example.com" in line for line in lines)  # type: ignore[union-attr]
    seen: set[str] = set()
    repeats = 0
    for line in lines:
        if line != "{broken json":
            repeats += line in seen
            seen.add(line)
    assert report.duplicates.exact.count == repeats


def test_store_pages_and_finds_records(tmp_path: Path) -> None:
    path = make_mixed_file(tmp_path / "mixed.jsonl", 300)
    store = tmp_path / "store"
    report = analyze_file(path, AnalysisOptions(chunk_bytes=8 * 1024), store)
    lines = path.read_text().splitlines()
    usable = [(i, json.loads(line)) for i, line in enumerate(lines) if line != "{broken json"]
    assert count_examples(store) == report.total_examples == len(usable)
    page = read_examples(store, 10, 5)
    assert [e.index for e in page] == [i for i, _ in usable[10:15]]
    assert [e.line for e in page] == [i + 1 for i, _ in usable[10:15]]
    assert [e.messages for e in page] == [r["messages"] for _, r in usable[10:15]]
    assert read_examples(store, len(usable) - 2, 10)[-1].index == usable[-1][0]
    assert read_examples(store, len(usable), 5) == []
    assert sum(e.token_count for e in read_examples(store, 0, len(usable))) == report.total_tokens
    wanted = [usable[40][0], usable[3][0]]
    assert [e.index for e in read_examples_by_index(store, [*wanted, 10_000])] == wanted
    assert [c["messages"] for c in iter_canonical(store)] == [r["messages"] for _, r in usable]


def test_store_without_analysis_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        count_examples(tmp_path)
