"""Seed 000 `/question`: question/answer pairs grounded in a text, each keeping the chunk(s) it came from.

The content is cut into chunks of `chunk_tokens` tokens (chunking.py, exact counts). Batch n asks about
chunk n (cycling through them in order, so every chunk is used before any is used twice); with
`multiple_chunks`, about chunks n and n+1 together, for questions that need both. Every row keeps
`chunk` (the first chunk), `chunks` (all it was asked from) and `source_index` (the caller's `index`).

Grounding gate: an answer passes when at least `min_grounding` of its content words (four letters or
more, or numbers) occur in its chunks. The optional judge rates each accepted pair 1-5 with a second
request; pairs under `judge_threshold`, or that the judge's answer gives no score for, are dropped.
"""

from __future__ import annotations

import re
from typing import Any

from backend.core.errors import InvalidInputError
from backend.core.generation.chunking import Chunk
from backend.core.generation.gates import DropReason
from backend.core.generation.modes import BatchRequest, Candidate, Mode
from backend.core.generation.parse import text_of
from backend.core.generation.payloads import QuestionsRequest
from backend.core.generation.presets import Sampling, preset_for
from backend.core.generation.prompts import judge_prompt, questions_prompt

_WORDS = re.compile(r"\w+")
_QA_KEYS = (("question", "answer"), ("q", "a"), ("input", "output"), ("prompt", "response"))


def content_words(text: str) -> list[str]:
    return [w for w in _WORDS.findall(text.casefold()) if len(w) >= 4 or w.isdigit()]


def grounding(answer: str, source: str) -> float:
    """Share of the answer's content words found in the source (1.0 for an answer with none)."""
    words = content_words(answer)
    if not words:
        return 1.0
    known = set(_WORDS.findall(source.casefold()))
    return sum(w in known for w in words) / len(words)


class QuestionsMode(Mode):
    name = "questions"

    def __init__(self, request: QuestionsRequest, chunks: list[Chunk]) -> None:
        super().__init__(request.num_samples, request.batch_size, request.random_seed)
        if request.multiple_chunks and len(chunks) < 2:
            raise InvalidInputError(
                f"multiple_chunks needs at least two chunks, and this content is one chunk of {chunks[0].tokens} "
                f"tokens at chunk_tokens={request.chunk_tokens}: lower chunk_tokens or give more content.",
                code="content_is_one_chunk",
            )
        self.request = request
        self.chunks = chunks
        self.preset = preset_for(request.exploration_mode)

    def _chunk_numbers(self, number: int) -> list[int]:
        if self.request.multiple_chunks:
            first = number % (len(self.chunks) - 1)
            return [first, first + 1]
        return [number % len(self.chunks)]

    def next_request(self, number: int) -> BatchRequest:
        numbers = self._chunk_numbers(number)
        messages = questions_prompt([self.chunks[n].text for n in numbers], self.batch_size, self.preset)
        sampling = self.preset.sampling.with_max_tokens(min(4096, 200 + 200 * self.batch_size))
        return BatchRequest(number, messages, sampling, self.batch_size, meta={"chunks": numbers})

    def candidate(self, item: Any, request: BatchRequest) -> Candidate | DropReason:
        if not isinstance(item, dict):
            return DropReason.MALFORMED_ITEM
        for ask, answer in _QA_KEYS:
            question, reply = text_of(item, (ask,)), text_of(item, (answer,))
            if question is not None and reply is not None:
                return self._candidate(question.strip(), reply.strip(), list(request.meta["chunks"]))
        return DropReason.MALFORMED_ITEM

    def _candidate(self, question: str, answer: str, chunks: list[int], score: int | None = None) -> Candidate:
        row: dict[str, Any] = {"question": question, "answer": answer, "chunk": chunks[0], "chunks": chunks,
                               "source_index": self.request.index}
        if score is not None:
            row["score"] = score
        source = "\n\n".join(self.chunks[n].text for n in chunks if n < len(self.chunks))
        return Candidate(row, question, (question, answer), source_text=source)

    def admit(self, candidate: Candidate) -> DropReason | None:
        assert candidate.source_text is not None
        if grounding(candidate.row["answer"], candidate.source_text) < self.request.min_grounding:
            return DropReason.NOT_GROUNDED
        return None

    def candidate_from_row(self, row: dict[str, Any]) -> Candidate:
        return self._candidate(row["question"], row["answer"], list(row["chunks"]), row.get("score"))

    def judge_request(self, request: BatchRequest, pairs: list[Candidate]) -> BatchRequest:
        chunks = [self.chunks[n].text for n in request.meta["chunks"]]
        messages = judge_prompt(chunks, [{"question": c.row["question"], "answer": c.row["answer"]} for c in pairs])
        return BatchRequest(request.number, messages, Sampling(0.0, 1.0, max_tokens=40 + 20 * len(pairs)),
                            len(pairs), meta={"purpose": "judge", "chunks": request.meta["chunks"]})


def scores_from_items(items: list[Any], count: int) -> list[int | None]:
    """The judge's score for each of `count` pairs: [{"n": 1, "score": 4}, ...] or a bare list of numbers."""
    scores: list[int | None] = [None] * count
    bare = [item for item in items if isinstance(item, int | float) and not isinstance(item, bool)]
    if bare and len(bare) == len(items):
        for i, number in enumerate(bare[:count]):
            scores[i] = _score(number)
        return scores
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        n = item.get("n", item.get("id", position + 1))
        value = item.get("score", item.get("rating"))
        if isinstance(n, int) and 1 <= n <= count and isinstance(value, int | float | str):
            scores[n - 1] = _score(value)
    return scores


def _score(value: int | float | str) -> int | None:
    try:
        number = round(float(value))
    except ValueError:
        return None
    return number if 1 <= number <= 5 else None
