"""Seeds from an uploaded dataset ("grow this dataset"): a sample of its usable examples as few-shot
examples, and the user side of all of them, so no generated row repeats one.

The dataset is the analysis store of an upload (a directory with index.npy: its canonical examples,
see backend/core/analysis/store.py) or a canonical JSONL file ({"messages": [...]} per line). A usable
seed is a chat whose user and assistant turns alternate, user first and assistant last (system turns
are left out: the request's own system_prompt goes into generated rows).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from backend.core.analysis.store import INDEX_FILE, iter_canonical
from backend.core.errors import InvalidInputError, NotFoundError
from backend.core.generation.modes import alternating_turns, user_side


@dataclass(frozen=True, slots=True)
class DatasetSeeds:
    seeds: list[list[dict[str, str]]]  # the sample, in the dataset's order
    user_texts: list[str]  # every usable example's user side
    usable: int
    records: int


def _records(path: Path) -> Iterator[Any]:
    if path.is_dir():
        if not (path / INDEX_FILE).exists():
            raise NotFoundError("This dataset has no analysed examples yet: run the analysis first.",
                                code="store_not_found")
        yield from iter_canonical(path)
        return
    if not path.is_file():
        raise NotFoundError("The dataset to take seeds from is not there any more.", code="dataset_not_found")
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield None


def load_dataset_seeds(path: Path, sample: int, rng: random.Random) -> DatasetSeeds:
    """Reservoir-sample `sample` usable examples (one pass, memory bounded by the sample)."""
    chosen: list[tuple[int, list[dict[str, str]]]] = []
    texts: list[str] = []
    records = usable = 0
    for record in _records(path):
        records += 1
        turns = record.get("messages") if isinstance(record, dict) else None
        messages = alternating_turns(turns) if isinstance(turns, list) else None
        if not messages:
            continue
        texts.append(user_side(messages))
        if len(chosen) < sample:
            chosen.append((usable, messages))
        else:
            slot = rng.randrange(usable + 1)
            if slot < sample:
                chosen[slot] = (usable, messages)
        usable += 1
    if usable == 0:
        raise InvalidInputError(
            f"The dataset has no usable chat examples to take seeds from ({records} records, none with user and "
            "assistant turns in order).",
            code="no_usable_seeds",
        )
    chosen.sort(key=lambda pair: pair[0])
    return DatasetSeeds([m for _, m in chosen], texts, usable, records)
