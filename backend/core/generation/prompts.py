"""The prompts, one builder per request kind. PROMPT_VERSION goes into every row's provenance: change it
whenever a prompt's wording changes, so rows made by different prompts can be told apart.

Every prompt asks for a JSON array and shows its exact shape; parse.py copes with models that do not
comply. Few-shot examples are shown as JSON too, so a model sees the shape twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from backend.core.generation.presets import Preset

PROMPT_VERSION = "2026-12-01.1"

Messages = list[dict[str, str]]

_SYSTEM = (
    "You write synthetic data for training and testing language models. You answer with JSON only: "
    "no explanations, no code fences."
)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=None)


def _messages(user: str) -> Messages:
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def inputs_prompt(description: str, shots: Sequence[str], count: int, preset: Preset) -> Messages:
    """Seed 004: new inputs for an application, like the shots but not copies of them."""
    parts = [f"Application: {description.strip()}", ""]
    if shots:
        parts += ["Example inputs a user could send to this application:", _dump(list(shots)), ""]
    parts += [
        f"Write {count} new, different inputs for this application. {preset.instruction}",
        "Do not repeat or lightly reword the examples.",
        f'Answer with a JSON array of {count} strings, like ["first input", "second input"].',
    ]
    return _messages("\n".join(parts))


def examples_prompt(task: str, shots: Sequence[Sequence[dict[str, str]]], count: int, turns: int,
                    preset: Preset) -> Messages:
    """Whole training examples: user and assistant turns, `turns` user turns each."""
    shape = [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}] * turns
    parts = [f"Task the model will be trained for: {task.strip()}", ""]
    if shots:
        parts += ["Examples of good training conversations:"]
        parts += [_dump({"messages": list(shot)}) for shot in shots]
        parts += [""]
    kind = "one user message and the ideal assistant answer" if turns == 1 else (
        f"a chat of {turns} user messages, each followed by the ideal assistant answer")
    parts += [
        f"Write {count} new training examples, each {kind}. {preset.instruction}",
        "The assistant answers must be correct, helpful and complete.",
        f"Answer with a JSON array of {count} objects shaped like {_dump({'messages': shape})}.",
    ]
    return _messages("\n".join(parts))


def _label_lines(labels: Sequence[tuple[str, str | None]]) -> list[str]:
    return [f"- {name}" + (f": {description}" if description else "") for name, description in labels]


def classification_prompt(task: str, label: str, labels: Sequence[tuple[str, str | None]],
                          positives: Sequence[dict[str, Any]], negatives: Sequence[dict[str, Any]], count: int,
                          preset: Preset) -> Messages:
    """Seed 000 text classification: `count` texts that all belong to `label` (quotas keep labels balanced)."""
    parts = [f"Classification task: {task.strip()}", "", "Labels:", *_label_lines(labels), ""]
    if positives:
        parts += ["Good examples:", *(_dump(p) for p in positives), ""]
    if negatives:
        parts += ["Bad examples (never write rows like these):", *(_dump(n) for n in negatives), ""]
    parts += [
        f'Write {count} new texts whose correct label is "{label}". {preset.instruction}',
        f'Answer with a JSON array of {count} objects like {_dump({"text": "...", "label": label})}.',
    ]
    return _messages("\n".join(parts))


def seq2seq_prompt(task: str, positives: Sequence[dict[str, Any]], negatives: Sequence[dict[str, Any]], count: int,
                   preset: Preset) -> Messages:
    """Seed 000 seq2seq: input/output pairs."""
    parts = [f"Task (input -> output): {task.strip()}", ""]
    if positives:
        parts += ["Good examples:", *(_dump(p) for p in positives), ""]
    if negatives:
        parts += ["Bad examples (never write rows like these):", *(_dump(n) for n in negatives), ""]
    parts += [
        f"Write {count} new input/output pairs for this task. {preset.instruction}",
        f'Answer with a JSON array of {count} objects like {_dump({"input": "...", "output": "..."})}.',
    ]
    return _messages("\n".join(parts))


def labels_prompt(task: str, count: int) -> Messages:
    """Seed 000 without labels: ask for the label set first."""
    return _messages(
        f"Classification task: {task.strip()}\n\nName the {count} labels a text can have for this task: short, "
        f'distinct, lowercase. Answer with a JSON array of {count} strings, like ["positive", "negative"].'
    )


def questions_prompt(chunks: Sequence[str], count: int, preset: Preset) -> Messages:
    """Seed 000 /question: pairs answerable from the text; with two chunks, pairs that need both."""
    if len(chunks) == 1:
        parts = ["Text:", chunks[0], "", f"Write {count} questions that this text answers, each with its answer."]
    else:
        parts = ["Text A:", chunks[0], "", "Text B:", chunks[1], "",
                 f"Write {count} questions whose answer needs facts from both Text A and Text B, each with its "
                 "answer."]
    parts += [
        f"Answer only from the text, in its own words where possible. {preset.instruction}",
        f'Answer with a JSON array of {count} objects like {_dump({"question": "...", "answer": "..."})}.',
    ]
    return _messages("\n".join(parts))


def judge_prompt(chunks: Sequence[str], pairs: Sequence[dict[str, str]]) -> Messages:
    """Rate each pair 1-5: is it answerable from the text, and is the answer right and complete?"""
    numbered = [{"n": i + 1, "question": p["question"], "answer": p["answer"]} for i, p in enumerate(pairs)]
    text = "\n\n".join(chunks)
    return _messages(
        f"Text:\n{text}\n\nQuestion/answer pairs:\n{_dump(numbered)}\n\n"
        "Rate each pair from 1 (wrong, or not answerable from the text) to 5 (answerable from the text, answer "
        'correct and complete). Answer with a JSON array like [{"n": 1, "score": 4}], one object per pair.'
    )
