"""The cost estimate a route shows before a generation task starts (nothing is sent to any provider).

The first batch's prompt is built exactly as the task will build it and counted with the tokenizer of the
provider's model family (o200k_base for OpenAI's gpt-4o/4.1/5 and o-series, cl100k_base otherwise: an
estimate for other families, labelled by its tokenizer name); rows are assumed about as long as the seeds.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import Any

from backend.core.errors import InvalidInputError
from backend.core.generation.chunking import chunk_by_tokens
from backend.core.generation.cost import JSON_OVERHEAD_TOKENS, estimate_cost
from backend.core.generation.modes import ExamplesMode, InputsMode, Mode
from backend.core.generation.payloads import (
    ExamplesRequest,
    GenerationOptions,
    InputsRequest,
    QuestionsRequest,
    ViewRequest,
    parse_request,
)
from backend.core.generation.questions import QuestionsMode
from backend.core.generation.seeds import load_dataset_seeds
from backend.core.generation.view import ClassificationMode, Seq2SeqMode, labels_request
from backend.core.tokens import get_counter
from backend.services.generation.bodies import dataset_seed_path
from backend.services.generation.providers import resolve_provider
from backend.settings import Settings

KINDS = ("inputs", "examples", "view", "questions")
_O200K_MODELS = re.compile(r"^(gpt-4o|gpt-4\.1|gpt-5|o\d)", re.IGNORECASE)
_DEFAULT_ROW_TOKENS = {"inputs": 40, "examples": 160, "classification": 50, "seq2seq": 120, "questions": 80}


def tokenizer_for_model(model: str) -> str:
    return "o200k_base" if _O200K_MODELS.match(model) else "cl100k_base"


def estimate_generation(settings: Settings, kind: str, payload: dict[str, Any], *,
                        any_dataset_path: bool = False) -> dict[str, Any]:
    """{batches, prompt_tokens, completion_tokens, cost_usd, tokenizer, assumptions, provider} for a request
    of `kind` ("inputs", "examples", "view", "questions"), validated as the task body will validate it."""
    request, mode, extra = _mode_for(settings, kind, payload, any_dataset_path)
    provider = resolve_provider(settings, request.provider)
    tokenizer = tokenizer_for_model(provider.model)
    counter = get_counter(tokenizer, allow_download=False)
    first = mode.next_request(0)
    mode.release(first)
    prompt_tokens = sum(counter.count_batch([m["content"] for m in first.messages]))
    row_tokens = _row_tokens(mode, counter.count_batch)
    judge = isinstance(request, QuestionsRequest) and request.judge
    batches_extra = extra + (estimate_cost(rows=mode.target, batch_size=mode.batch_size, prompt_tokens_per_batch=0,
                                           completion_tokens_per_row=0, price=None, tokenizer=tokenizer).batches
                             if judge else 0)
    estimate = estimate_cost(rows=mode.target, batch_size=mode.batch_size, prompt_tokens_per_batch=prompt_tokens,
                             completion_tokens_per_row=row_tokens, price=provider.price, tokenizer=tokenizer,
                             extra_requests=batches_extra, prompt_tokens_per_extra=prompt_tokens)
    out = estimate.to_dict()
    out["provider"] = provider.public()
    return out


def _mode_for(settings: Settings, kind: str, payload: dict[str, Any],
              any_dataset_path: bool) -> tuple[GenerationOptions, Mode, int]:
    """The request, its mode as the body builds it, and requests made outside the batches."""
    if kind == "inputs":
        inputs = parse_request(InputsRequest, payload)
        return inputs, InputsMode(inputs), 0
    if kind == "examples":
        examples = parse_request(ExamplesRequest, payload)
        if examples.dataset_path is None:
            return examples, ExamplesMode(examples), 0
        path = dataset_seed_path(settings, examples.dataset_path, any_path=any_dataset_path)
        seeds = load_dataset_seeds(path, examples.num_seed_examples, random.Random(examples.random_seed))
        return examples, ExamplesMode(examples, seeds.seeds, seeds.user_texts), 0
    if kind == "view":
        view = parse_request(ViewRequest, payload)
        if view.task == "seq2seq":
            return view, Seq2SeqMode(view), 0
        labels = view.label_names()
        if labels is None:  # the real names come from the model; their length hardly moves the estimate
            labels_request(view)
            return view, ClassificationMode(view, [f"label {i + 1}" for i in range(view.num_labels or 2)]), 1
        return view, ClassificationMode(view, labels), 0
    if kind == "questions":
        questions = parse_request(QuestionsRequest, payload)
        chunks = chunk_by_tokens(questions.content, get_counter(questions.tokenizer, allow_download=False),
                                 questions.chunk_tokens)
        return questions, QuestionsMode(questions, chunks), 0
    raise InvalidInputError(f"Unknown generation kind {kind!r}: one of {', '.join(KINDS)}.",
                            code="invalid_generation_kind")


def _row_tokens(mode: Mode, count: Callable[[Sequence[str]], list[int]]) -> int:
    """Tokens one written row takes: the seeds' mean (the answers too, for chats), or a default per mode."""
    texts = [t for t in mode.seed_texts if t.strip()]
    if not texts:
        return _DEFAULT_ROW_TOKENS[mode.name] + JSON_OVERHEAD_TOKENS
    mean = sum(count(texts)) / len(texts)
    factor = 2.5 if mode.name in ("examples", "seq2seq") else 1.0  # the answers are not in seed_texts
    return round(mean * factor) + JSON_OVERHEAD_TOKENS
