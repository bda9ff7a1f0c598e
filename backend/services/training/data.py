"""The run's examples: read from canonical JSONL (a file, or the analysis store), sorted by kind, and checked
against the task. Nothing is dropped silently: every example left out is counted with its reason, and a
dataset of the wrong kind for the task is refused with what to do (preference data is never trained as SFT).

Kinds, one per canonical record (the analysis store's shapes, see backend/core/analysis/store.py):
    chat         {"messages": [...]} with an assistant reply
    paired       {"messages": <prompt>, "chosen": [...], "rejected": [...]}           (DPO)
    unpaired     {"messages": <prompt>, "completion": [...], "label": true | false}   (KTO-style)
    labelled     {"text": "...", "label": "..." | 3}                                   (classification)
    completion   {"prompt": "...", "completion": "..."}                                (seq2seq)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from backend.core.analysis.store import INDEX_FILE, iter_canonical
from backend.core.errors import InvalidInputError, NotFoundError
from backend.core.notebook.payload import find_problem

MAX_LABELS = 1000


@dataclass(slots=True)
class TaskData:
    """The examples a trainer gets, in the shape its task needs, and what was left out (reason → count)."""

    task: str
    examples: list[dict[str, Any]]
    kinds: dict[str, int]
    left_out: Counter[str] = field(default_factory=Counter)
    labels: list[str] = field(default_factory=list)  # text_classification only, in label-id order
    # Positions in `examples` of a separate evaluation set (a test file), or None: eval_split of the examples.
    held_out: frozenset[int] | None = None


def kind_of(example: Any) -> str:
    if not isinstance(example, dict):
        return "unknown"
    if "chosen" in example and "rejected" in example:
        return "paired"
    if "completion" in example and isinstance(example.get("label"), bool):
        return "unpaired"
    if isinstance(example.get("text"), str) and isinstance(example.get("label"), str | int):
        return "labelled"
    if isinstance(example.get("prompt"), str) and isinstance(example.get("completion"), str):
        return "completion"
    if isinstance(example.get("messages"), list):
        return "chat"
    return "unknown"


def iter_dataset(path: Path) -> Iterator[dict[str, Any]]:
    """Canonical examples of an analysis store directory or a JSONL file (a broken line is an error, not a skip)."""
    if path.is_dir():
        if not (path / INDEX_FILE).exists():
            raise NotFoundError(
                f"{path.name} holds no analysed examples: run the analysis first.", code="dataset_not_found"
            )
        yield from iter_canonical(path)
        return
    if not path.is_file():
        raise NotFoundError(f"The dataset {path.name} does not exist.", code="dataset_not_found")
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise InvalidInputError(
                    f"Line {number} of {path.name} is not JSON ({error}); the training data must be canonical "
                    "JSONL, one example per line (the analysis store writes it).",
                    code="invalid_training_data",
                    line=number,
                ) from error


def read_dataset(path: Path, max_examples: int | None = None) -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = []
    for example in iter_dataset(path):
        examples.append(example)
        if max_examples is not None and len(examples) >= max_examples:
            break
    if not examples:
        raise InvalidInputError(f"The dataset {path.name} holds no examples.", code="no_trainable_examples")
    return examples


def prepare_task_data(task: str, examples: list[dict[str, Any]], num_labels: int | None = None,
                      eval_examples: list[dict[str, Any]] | None = None) -> TaskData:
    """The examples converted for the task; `eval_examples` (a test file) are appended and marked held out."""
    kinds = Counter(kind_of(example) for example in [*examples, *(eval_examples or [])])
    data = TaskData(task=task, examples=[], kinds=dict(kinds))
    refuse_wrong_kind(task, kinds)
    for example in examples:
        kind = kind_of(example)
        converted = convert(task, kind, example, data.left_out)
        if converted is not None:
            data.examples.append(converted)
    if eval_examples is not None:
        first_eval = len(data.examples)
        for example in eval_examples:
            converted = convert(task, kind_of(example), example, data.left_out)
            if converted is not None:
                data.examples.append(converted)
        data.held_out = frozenset(range(first_eval, len(data.examples)))
    if not data.examples:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in data.left_out.most_common(3)) or "none fit"
        raise InvalidInputError(f"No example can be trained on for {task} ({reasons}).", code="no_trainable_examples")
    if task == "text_classification":
        data.labels = label_names(data.examples, num_labels)
    return data


def refuse_wrong_kind(task: str, kinds: Counter[str]) -> None:
    paired, unpaired = kinds.get("paired", 0), kinds.get("unpaired", 0)
    if task != "dpo" and (paired or unpaired):
        raise InvalidInputError(
            f"This dataset holds preference data ({paired} chosen/rejected pairs, {unpaired} labelled answers), "
            f"which {task} would train as if every answer were good. Train pairs with the task 'dpo'.",
            code="preference_data_needs_dpo",
            paired=paired,
            unpaired=unpaired,
        )
    if task == "dpo" and not paired:
        detail = (
            f"its {unpaired} records are unpaired (one answer each, labelled good or bad: KTO-style), and "
            "DPO needs a chosen and a rejected answer to the same prompt"
            if unpaired
            else "it has no chosen/rejected pairs"
        )
        raise InvalidInputError(
            f"This dataset cannot be trained with DPO: {detail}. Chat data trains with 'chat_sft'.",
            code="not_preference_pairs",
            unpaired=unpaired,
        )


def convert(task: str, kind: str, example: dict[str, Any], left_out: Counter[str]) -> dict[str, Any] | None:
    """The example as the task's trainer wants it, or None (counted in left_out) when it cannot serve."""
    if task == "dpo":
        if kind != "paired":
            left_out[f"{kind} examples in a preference run"] += 1
            return None
        return example
    if task == "text_classification":
        if kind == "labelled":
            return {"text": example["text"], "label": str(example["label"])}
        if kind == "chat" and find_problem(example) is None:
            users = [m["content"] for m in example["messages"] if m["role"] == "user"]
            replies = [m["content"].strip() for m in example["messages"] if m["role"] == "assistant"]
            if users and replies[-1]:
                return {"text": users[-1], "label": replies[-1]}
        left_out["examples with no text and label"] += 1
        return None
    if kind == "completion":  # seq2seq's own shape; as chat it is one user turn and one reply
        return {
            "messages": [
                {"role": "user", "content": example["prompt"]},
                {"role": "assistant", "content": example["completion"]},
            ]
        }
    if kind == "chat":
        problem = find_problem(example)
        if problem is None:
            return example
        left_out[problem] += 1
        return None
    left_out[f"{kind} records"] += 1
    return None


def label_names(examples: list[dict[str, Any]], num_labels: int | None) -> list[str]:
    labels = sorted({example["label"] for example in examples})
    if len(labels) < 2:
        raise InvalidInputError(
            f"Classification needs at least two labels; this dataset has {labels}.", code="too_few_labels"
        )
    if len(labels) > min(MAX_LABELS, max(2, len(examples) // 2)):
        raise InvalidInputError(
            f"{len(labels)} different labels in {len(examples)} examples: these replies look like free text, not "
            "labels. Use 'seq2seq' or 'chat_sft', or give each example one of a few labels.",
            code="not_labels",
        )
    if num_labels is not None and num_labels != len(labels):
        raise InvalidInputError(
            f"num_labels is {num_labels} but the dataset has {len(labels)} labels: {labels}.",
            code="num_labels_mismatch",
        )
    return labels
