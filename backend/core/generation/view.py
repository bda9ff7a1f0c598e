"""Seed 000 `/data/view`: text classification rows {"text", "label"} with balanced label quotas, and
seq2seq rows {"input", "output"}. `valid_data` are shown as good examples (and are seeds for the novelty
and duplicate gates), `invalid_data` as bad ones (a row repeating one is dropped).

Without `labels`, the label set is asked for first (labels_request / labels_from_items): `num_labels`
short names the model proposes; when it proposes too few, the task stops and asks for `labels`.
"""

from __future__ import annotations

from typing import Any

from backend.core.errors import InvalidInputError
from backend.core.generation.gates import DropReason
from backend.core.generation.modes import BatchRequest, Candidate, Mode
from backend.core.generation.parse import text_of
from backend.core.generation.payloads import ViewRequest
from backend.core.generation.presets import Sampling, preset_for
from backend.core.generation.prompts import classification_prompt, labels_prompt, seq2seq_prompt
from backend.core.generation.quotas import LabelQuotas

_TEXT_KEYS = ("text", "input", "sentence", "content")
_PAIR_KEYS = (("input", "output"), ("source", "target"), ("prompt", "completion"), ("question", "answer"))
MAX_LABEL_CHARS = 40
NEGATIVE_SHOTS = 3


def labels_request(request: ViewRequest) -> BatchRequest:
    count = request.num_labels or 2
    return BatchRequest(-1, labels_prompt(request.prompt, count), Sampling(0.3, 0.9, max_tokens=200), count,
                        meta={"purpose": "labels"})


def labels_from_items(items: list[Any], count: int) -> list[str]:
    """The first `count` distinct short names among the proposed items, or an error asking for labels."""
    names: list[str] = []
    for item in items:
        name = text_of(item, ("label", "name"))
        if name is None:
            continue
        name = name.strip().strip(".").strip()
        if 0 < len(name) <= MAX_LABEL_CHARS and name.lower() not in (n.lower() for n in names):
            names.append(name)
    if len(names) < count:
        raise InvalidInputError(
            f"The model proposed {len(names)} usable label names where {count} were needed: give the labels "
            'yourself ("labels": ["...", "..."]) and start again.',
            code="labels_not_proposed",
            proposed=names,
        )
    return names[:count]


def _pair_of(item: Any) -> tuple[str, str] | None:
    if isinstance(item, dict):
        for ask, answer in _PAIR_KEYS:
            left, right = text_of(item, (ask,)), text_of(item, (answer,))
            if left is not None and right is not None:
                return left.strip(), right.strip()
    return None


class ClassificationMode(Mode):
    name = "classification"

    def __init__(self, request: ViewRequest, labels: list[str]) -> None:
        super().__init__(request.num_samples, request.batch_size, request.random_seed)
        self.request = request
        self.preset = preset_for(request.exploration_mode)
        self.labels = labels
        descriptions = {label.name.strip(): label.description for label in request.labels or ()}
        self.label_specs = [(name, descriptions.get(name)) for name in labels]
        self._canonical = {name.casefold(): name for name in labels}
        self.quotas = LabelQuotas(labels, request.num_samples)
        self.positives = [p for p in request.valid_data or () if text_of(p, _TEXT_KEYS)]
        self.negatives = list(request.invalid_data or ())
        self.seed_texts = [t for p in self.positives if (t := text_of(p, _TEXT_KEYS))]
        self.negative_texts = [t for n in self.negatives if (t := text_of(n, _TEXT_KEYS))]
        self.shot_pool = self.positives

    def next_request(self, number: int) -> BatchRequest:
        label = self.quotas.next_label()
        wanted = max(1, min(self.batch_size, self.quotas.remaining(label)))
        self.quotas.request(label, wanted)
        rng = self.rng(number)
        same = [i for i, p in enumerate(self.positives) if str(p.get("label", "")).casefold() == label.casefold()]
        others = [i for i in range(len(self.positives)) if i not in same]
        rng.shuffle(same)
        rng.shuffle(others)
        shown = tuple(sorted((same + others)[: self.request.num_shots]))
        negatives = rng.sample(self.negatives, min(NEGATIVE_SHOTS, len(self.negatives)))
        messages = classification_prompt(self.request.prompt, label, self.label_specs,
                                         [self.positives[i] for i in shown], negatives, wanted, self.preset)
        sampling = self.preset.sampling.with_max_tokens(min(4096, 200 + 160 * wanted))
        return BatchRequest(number, messages, sampling, wanted, shown, {"label": label})

    def release(self, request: BatchRequest) -> None:
        self.quotas.release(request.meta["label"], request.wanted)

    def candidate(self, item: Any, request: BatchRequest) -> Candidate | DropReason:
        text = text_of(item, _TEXT_KEYS)
        if text is None:
            return DropReason.MALFORMED_ITEM
        given = text_of(item, ("label", "class", "category")) if isinstance(item, dict) else None
        if given is None:
            label: str | None = request.meta["label"]  # asked for this label, answered without one
        else:
            label = self._canonical.get(given.strip().casefold())
        if label is None:
            return DropReason.UNKNOWN_LABEL
        return self._candidate(text.strip(), label)

    def _candidate(self, text: str, label: str) -> Candidate:
        return Candidate({"text": text, "label": label}, text, (text,), label=label)

    def admit(self, candidate: Candidate) -> DropReason | None:
        assert candidate.label is not None
        return None if self.quotas.accept(candidate.label) else DropReason.LABEL_QUOTA_FULL

    def candidate_from_row(self, row: dict[str, Any]) -> Candidate:
        return self._candidate(row["text"], row["label"])

    def manifest(self) -> dict[str, Any]:
        return {"labels": self.labels}


class Seq2SeqMode(Mode):
    name = "seq2seq"

    def __init__(self, request: ViewRequest) -> None:
        super().__init__(request.num_samples, request.batch_size, request.random_seed)
        self.request = request
        self.preset = preset_for(request.exploration_mode)
        self.positives = [p for p in request.valid_data or () if _pair_of(p)]
        self.negatives = list(request.invalid_data or ())
        self.seed_texts = [pair[0] for p in self.positives if (pair := _pair_of(p))]
        self.negative_texts = [pair[0] for n in self.negatives if (pair := _pair_of(n))]
        self.shot_pool = self.positives

    def next_request(self, number: int) -> BatchRequest:
        rng = self.rng(number)
        shown = self.pick(rng, len(self.positives), self.request.num_shots)
        negatives = rng.sample(self.negatives, min(NEGATIVE_SHOTS, len(self.negatives)))
        messages = seq2seq_prompt(self.request.prompt, [self.positives[i] for i in shown], negatives,
                                  self.batch_size, self.preset)
        sampling = self.preset.sampling.with_max_tokens(min(6144, 200 + 300 * self.batch_size))
        return BatchRequest(number, messages, sampling, self.batch_size, shown)

    def candidate(self, item: Any, request: BatchRequest) -> Candidate | DropReason:
        pair = _pair_of(item)
        if pair is None:
            return DropReason.MALFORMED_ITEM
        return self._candidate(*pair)

    def _candidate(self, source: str, target: str) -> Candidate:
        return Candidate({"input": source, "output": target}, source, (source, target))

    def candidate_from_row(self, row: dict[str, Any]) -> Candidate:
        return self._candidate(row["input"], row["output"])
