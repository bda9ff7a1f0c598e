"""Related examples recomputed from the store match the report, and splits never separate them."""

from __future__ import annotations

import doctest
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from backend.core.errors import InvalidInputError
from backend.core.related import find as find_module
from backend.core.related import find_related, link_groups
from backend.core.split import assign as assign_module
from backend.core.split import assign_splits, eval_positions, example_label, shares_from_percentages
from tests.core.analysed import analyse, chat, write_jsonl

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


@pytest.mark.parametrize("module", [find_module, assign_module])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [AXOLOTL, "llamafactory_glaive_toolcall_en_demo.json",
                                  "llamafactory_alpaca_en_demo.json"])
def test_related_groups_are_the_reports_and_all_of_them(tmp_path: Path, name: str) -> None:
    store, report = analyse(tmp_path, name)
    related = find_related(store)
    for found, listed in ((related.exact, report.duplicates.exact), (related.near, report.duplicates.near)):
        assert len(found) == listed.groups_count
        assert sum(len(g) - 1 for g in found) == listed.count
        as_records = [[int(related.record_numbers[p]) for p in g] for g in found]
        # the report lists the first groups, each cut to its first members
        assert [g[: len(shown)] for g, shown in zip(as_records, listed.groups, strict=False)] == [
            [r.index for r in g] for g in listed.groups]


def test_axolotl_groups_are_complete(tmp_path: Path) -> None:
    """60 distinct conversations: the report lists 20 groups, find_related all 60, covering every record."""
    store, report = analyse(tmp_path, AXOLOTL)
    related = find_related(store)
    assert len(report.duplicates.exact.groups) == 20
    assert len(related.exact) == 60
    assert sorted(p for g in related.exact for p in g) == list(range(1000))


def test_link_groups_is_transitive() -> None:
    ids = link_groups(7, [[1, 4], [4, 6], [2, 5], [5, 6]])
    assert ids.tolist() == [0, 1, 1, 3, 1, 1, 1]


def straddling(components: np.ndarray, names: list[str]) -> list[int]:
    by_component: dict[int, set[str]] = {}
    for component, name in zip(components.tolist(), names, strict=True):
        by_component.setdefault(component, set()).add(name)
    return [c for c, splits in by_component.items() if len(splits) > 1]


def test_axolotl_hub_split_keeps_every_duplicate_group_in_one_split(tmp_path: Path) -> None:
    store, _ = analyse(tmp_path, AXOLOTL)
    related = find_related(store)
    components = related.components()
    names = assign_splits(components, shares_from_percentages([80, 10, 10]), seed=42)
    assert straddling(components, names) == []
    for group in [*related.exact, *related.near]:
        assert len({names[p] for p in group}) == 1
    counts = Counter(names)
    biggest = max(Counter(components.tolist()).values())
    for split, share in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        assert abs(counts[split] - 1000 * share) <= biggest, counts
    assert names == assign_splits(components, shares_from_percentages([80, 10, 10]), seed=42)  # reproducible
    assert names != assign_splits(components, shares_from_percentages([80, 10, 10]), seed=43)


def test_axolotl_eval_split_has_no_leak(tmp_path: Path) -> None:
    store, _ = analyse(tmp_path, AXOLOTL)
    related = find_related(store)
    held_out = set(eval_positions(related.components(), 0.1, seed=3407))
    assert 60 <= len(held_out) <= 140
    for group in [*related.exact, *related.near]:
        assert len({p in held_out for p in group}) == 1
    # a naive random 10% would have split nearly every one of the 60 groups of ~17 copies
    rng = np.random.default_rng(0)
    naive = set(rng.choice(1000, 100, replace=False).tolist())
    assert sum(len({p in naive for p in g}) > 1 for g in related.exact) > 30


def test_examples_sharing_a_prompt_stay_together(tmp_path: Path) -> None:
    records = [chat(f"question {i}", f"answer {i}") for i in range(40)]
    records += [chat("question 7", "another answer entirely"), chat("question 7", "a third answer")]
    store, _ = analyse(tmp_path, write_jsonl(tmp_path / "prompts.jsonl", records))
    related = find_related(store)
    assert related.prompt == [[7, 40, 41]]
    components = related.components()
    for seed in range(20):
        names = assign_splits(components, {"train": 0.5, "test": 0.5}, seed=seed)
        assert names[7] == names[40] == names[41]


def test_classification_split_is_stratified_by_label(tmp_path: Path) -> None:
    records = [chat(f"review number {i} of the product", "positive" if i % 4 else "negative") for i in range(400)]
    records += [records[0]] * 5  # a duplicate group of a negative example
    store, _ = analyse(tmp_path, write_jsonl(tmp_path / "labels.jsonl", records))
    related = find_related(store)
    labels = [example_label(r) for r in records]  # type: ignore[arg-type]
    names = assign_splits(related.components(), shares_from_percentages([80, 10, 10]), seed=7, labels=labels)
    for split in ("train", "validation", "test"):
        in_split = [label for label, name in zip(labels, names, strict=True) if name == split]
        share = in_split.count("negative") / len(in_split)
        assert 0.2 <= share <= 0.32, (split, share)
    assert len({names[p] for p in related.exact[0]}) == 1


@pytest.mark.parametrize("percentages", [[], [50, 40], [80, 10, 10, 0], [110, -10], [0, 50, 50]])
def test_bad_split_percentages_are_refused(percentages: list[int]) -> None:
    with pytest.raises(InvalidInputError):
        shares_from_percentages(percentages)
