"""Dealing related sets of examples out to named splits (see the package docstring)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.core.errors import InvalidInputError

SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")


def shares_from_percentages(percentages: Sequence[int | float]) -> dict[str, float]:
    """Percentages for train, validation and test, in that order (missing ones are 0), as shares.

    >>> shares_from_percentages([80, 10, 10])
    {'train': 0.8, 'validation': 0.1, 'test': 0.1}
    >>> shares_from_percentages([90, 10])
    {'train': 0.9, 'validation': 0.1}
    """
    values = list(percentages)
    if not 1 <= len(values) <= len(SPLIT_NAMES):
        raise InvalidInputError(
            "split takes one to three percentages, for train, validation and test (e.g. [80, 10, 10]).",
            field="split",
        )
    if any(v < 0 for v in values) or abs(sum(values) - 100) > 1e-6:
        raise InvalidInputError(
            f"The split percentages must be non-negative and add up to 100; {values} add up to {sum(values):g}.",
            field="split",
        )
    if values[0] <= 0:
        raise InvalidInputError("The train split needs a share above 0%.", field="split")
    return {name: v / 100 for name, v in zip(SPLIT_NAMES, values, strict=False) if v > 0}


def example_label(example: Mapping[str, Any]) -> str:
    """The label of a classification example: its last assistant reply, stripped."""
    replies = [m.get("content") or "" for m in example.get("messages", ()) if m.get("role") == "assistant"]
    return replies[-1].strip() if replies else ""


def assign_splits(
    components: Sequence[int] | npt.NDArray[np.int64],
    shares: Mapping[str, float],
    *,
    seed: int,
    labels: Sequence[str] | None = None,
) -> list[str]:
    """A split name per example; examples with the same component id always get the same split.

    `components[p]` is example p's related-set id (RelatedExamples.components()); `shares` maps split
    names to positive shares (in the order splits should win ties); `labels[p]`, when given, stratifies.
    A set whose members carry different labels goes with its most common label.

    >>> assign_splits([0, 0, 2, 3, 4, 5, 6, 7, 8, 9], {"train": 0.8, "test": 0.2}, seed=1).count("test")
    2
    """
    ids = np.asarray(components, dtype=np.int64)
    if labels is not None and len(labels) != ids.size:
        raise InvalidInputError("labels must give one label per example.", field="labels")
    wanted = {name: float(share) for name, share in shares.items() if share > 0}
    if not wanted:
        raise InvalidInputError("At least one split needs a share above 0.", field="split")
    members: dict[int, list[int]] = defaultdict(list)
    for position, component in enumerate(ids.tolist()):
        members[component].append(position)
    strata: dict[str, list[int]] = defaultdict(list)  # label -> component ids
    for component, positions in members.items():
        label = "" if labels is None else _majority(labels[p] for p in positions)
        strata[label].append(component)
    rng = np.random.default_rng(seed)
    names = [""] * ids.size
    for label in sorted(strata):
        for component, split in _deal(strata[label], members, wanted, rng).items():
            for position in members[component]:
                names[position] = split
    return names


def _majority(labels: Iterable[str]) -> str:
    counts: Counter[str] = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], label))  # ties: the smallest label, for stability


def _deal(
    components: list[int], members: Mapping[int, list[int]], shares: Mapping[str, float], rng: np.random.Generator
) -> dict[int, str]:
    """Largest sets first (seeded order among equal sizes), each to the split furthest below its target."""
    ordered = [components[i] for i in rng.permutation(len(components))]
    ordered.sort(key=lambda component: -len(members[component]))  # stable: the shuffle breaks ties
    total = sum(len(members[c]) for c in components)
    scale = sum(shares.values())
    targets = {name: total * share / scale for name, share in shares.items()}
    filled = dict.fromkeys(shares, 0)
    split_order = list(shares)
    chosen: dict[int, str] = {}
    for component in ordered:
        split = max(split_order, key=lambda name: (targets[name] - filled[name], -split_order.index(name)))
        chosen[component] = split
        filled[split] += len(members[component])
    return chosen


def eval_positions(components: Sequence[int] | npt.NDArray[np.int64], eval_share: float, *, seed: int) -> list[int]:
    """The positions held out for evaluation (about `eval_share` of them), with no related set split.

    >>> eval_positions([0, 0, 0, 3, 4, 5, 6, 7, 8, 9], 0.2, seed=3)
    [5, 6]
    """
    if eval_share <= 0:
        return []
    names = assign_splits(components, {"train": 1 - eval_share, "eval": eval_share}, seed=seed)
    return [p for p, name in enumerate(names) if name == "eval"]
