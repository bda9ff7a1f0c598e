"""What a generation mode decides: the request for each batch, and what each returned item becomes.

The batch loop (backend/services/generation/loop.py) is the same for every mode; a mode only says

    next_request(number)   the prompt, sampling and metadata of batch `number` (which seeds it shows)
    candidate(item, req)   one parsed item as a Candidate row, or the DropReason it fails structure with
    admit(candidate)       a last mode-specific check (label quotas), after the shared gates
    candidate_from_row     an already written row as a Candidate (a resumed attempt re-learns it)

This module holds the shared types and the two chat modes: `inputs` (seed 004) and `examples`
(whole training conversations). view.py has seed 000's classification and seq2seq, questions.py the
grounded question/answer pairs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backend.core.generation.gates import DropReason
from backend.core.generation.parse import text_of
from backend.core.generation.payloads import ExamplesRequest, InputsRequest
from backend.core.generation.presets import Sampling, preset_for
from backend.core.generation.prompts import Messages, examples_prompt, inputs_prompt

_INPUT_KEYS = ("input", "text", "prompt", "question", "query", "message", "content")


@dataclass(frozen=True, slots=True)
class BatchRequest:
    number: int  # 0-based batch number within the task (continues across a resumed attempt)
    messages: Messages
    sampling: Sampling
    wanted: int  # rows asked for
    seeds_used: tuple[int, ...] = ()  # positions of the seeds shown as few-shot examples
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"label": "spam"} or {"chunks": [3, 4]}


@dataclass(frozen=True, slots=True)
class Candidate:
    row: dict[str, Any]  # the row's fields (rows.DATA_FIELDS) plus mode-specific provenance
    prompt_text: str  # what the duplicate and novelty gates compare
    texts: tuple[str, ...]  # fields checked for emptiness and length
    label: str | None = None
    source_text: str | None = None  # what an answer must be grounded in (questions)


class Mode:
    """Base of the modes: the few-shot sampling they share."""

    name: str = ""
    allow_lines = False  # may a plain numbered list stand for the JSON array asked for?

    def __init__(self, target: int, batch_size: int, random_seed: int | None) -> None:
        self.target = target
        self.batch_size = batch_size
        self._random_seed = random_seed
        self.seed_texts: list[str] = []  # compared for novelty and duplicates
        self.dataset_texts: list[str] = []  # the user's dataset: duplicates only
        self.negative_texts: list[str] = []  # examples of what not to write
        self.shot_pool: list[Any] = []  # what a row's provenance "seeds" positions point at

    def rng(self, number: int) -> random.Random:
        """The few-shot draw of batch `number`: repeatable with a random_seed, fresh otherwise."""
        return random.Random(None if self._random_seed is None else self._random_seed * 1_000_003 + number)

    @staticmethod
    def pick(rng: random.Random, population: int, count: int) -> tuple[int, ...]:
        return tuple(sorted(rng.sample(range(population), min(count, population))))

    def next_request(self, number: int) -> BatchRequest:
        raise NotImplementedError

    def release(self, request: BatchRequest) -> None:
        """The request finished (well or not): forget what it had reserved."""

    def candidate(self, item: Any, request: BatchRequest) -> Candidate | DropReason:
        raise NotImplementedError

    def admit(self, candidate: Candidate) -> DropReason | None:
        return None

    def candidate_from_row(self, row: dict[str, Any]) -> Candidate:
        raise NotImplementedError

    def manifest(self) -> dict[str, Any]:
        """What a resumed attempt must reuse rather than decide again (the labels a model proposed)."""
        return {}


class InputsMode(Mode):
    """Seed 004: new LLM inputs for an application, each row {"input"}."""

    name = "inputs"
    allow_lines = True

    def __init__(self, request: InputsRequest) -> None:
        super().__init__(request.num_inputs_to_generate, request.batch_size, request.random_seed)
        self.request = request
        self.seeds = list(request.seeds)
        self.seed_texts = self.seeds
        self.shot_pool = self.seeds
        self.preset = preset_for(request.exploration_mode)

    def next_request(self, number: int) -> BatchRequest:
        shown = self.pick(self.rng(number), len(self.seeds), self.request.num_shots)
        messages = inputs_prompt(self.request.application_description, [self.seeds[i] for i in shown],
                                 self.batch_size, self.preset)
        sampling = self.preset.sampling.with_max_tokens(min(4096, 200 + 160 * self.batch_size))
        return BatchRequest(number, messages, sampling, self.batch_size, shown)

    def candidate(self, item: Any, request: BatchRequest) -> Candidate | DropReason:
        text = text_of(item, _INPUT_KEYS)
        if text is None:
            return DropReason.MALFORMED_ITEM
        text = text.strip()
        return Candidate({"input": text}, text, (text,))

    def candidate_from_row(self, row: dict[str, Any]) -> Candidate:
        return Candidate({"input": row["input"]}, row["input"], (row["input"],))


def _messages_of(item: Any) -> list[Any] | None:
    """The turns of one generated example: {"messages": [...]}, a bare list of turns, or one exchange
    written as {"input"|"user"|"question": ..., "output"|"assistant"|"answer": ...}."""
    if isinstance(item, list):
        return item
    if not isinstance(item, dict):
        return None
    for key in ("messages", "conversation", "conversations", "turns"):
        if isinstance(item.get(key), list):
            return list(item[key])
    for ask, answer in (("input", "output"), ("user", "assistant"), ("question", "answer"), ("prompt", "response")):
        if isinstance(item.get(ask), str) and isinstance(item.get(answer), str):
            return [{"role": "user", "content": item[ask]}, {"role": "assistant", "content": item[answer]}]
    return None


def alternating_turns(turns: list[Any]) -> list[dict[str, str]] | None:
    """User/assistant turns in strict alternation, user first and assistant last (system turns dropped)."""
    out: list[dict[str, str]] = []
    for turn in turns:
        if not isinstance(turn, dict):
            return None
        role = str(turn.get("role", turn.get("from", ""))).lower()
        role = {"human": "user", "gpt": "assistant", "bot": "assistant", "model": "assistant"}.get(role, role)
        content = turn.get("content", turn.get("value"))
        if role == "system":
            continue
        if role not in ("user", "assistant") or not isinstance(content, str):
            return None
        expected = "user" if len(out) % 2 == 0 else "assistant"
        if role != expected:
            return None
        out.append({"role": role, "content": content.strip()})
    return out if out and out[-1]["role"] == "assistant" else None


def user_side(messages: Sequence[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")


class ExamplesMode(Mode):
    """Whole training examples for a task described in words, each row {"messages"}."""

    name = "examples"

    def __init__(self, request: ExamplesRequest, dataset_seeds: Sequence[list[dict[str, str]]] = (),
                 dataset_texts: Sequence[str] = ()) -> None:
        super().__init__(request.num_examples, request.batch_size, request.random_seed)
        self.request = request
        self.preset = preset_for(request.exploration_mode)
        given = [[{"role": t.role, "content": t.content} for t in s.messages if t.role != "system"]
                 for s in request.seed_examples]
        self.seeds: list[list[dict[str, str]]] = [s for s in [*given, *dataset_seeds] if s]
        self.seed_texts = [user_side(s) for s in self.seeds]
        self.dataset_texts = list(dataset_texts)
        self.shot_pool = self.seeds

    def next_request(self, number: int) -> BatchRequest:
        shown = self.pick(self.rng(number), len(self.seeds), self.request.num_shots)
        messages = examples_prompt(self.request.task_description, [self.seeds[i] for i in shown], self.batch_size,
                                   self.request.turns, self.preset)
        per_example = 260 * self.request.turns
        sampling = self.preset.sampling.with_max_tokens(min(8192, 200 + per_example * self.batch_size))
        return BatchRequest(number, messages, sampling, self.batch_size, shown)

    def candidate(self, item: Any, request: BatchRequest) -> Candidate | DropReason:
        turns = _messages_of(item)
        messages = None if turns is None else alternating_turns(turns)
        if messages is None or sum(m["role"] == "user" for m in messages) != self.request.turns:
            return DropReason.MALFORMED_ITEM
        if self.request.system_prompt:
            messages = [{"role": "system", "content": self.request.system_prompt}, *messages]
        return self._candidate(messages)

    def _candidate(self, messages: list[dict[str, str]]) -> Candidate:
        texts = tuple(m["content"] for m in messages if m["role"] != "system")
        return Candidate({"messages": messages}, user_side(messages), texts)

    def candidate_from_row(self, row: dict[str, Any]) -> Candidate:
        return self._candidate(row["messages"])
