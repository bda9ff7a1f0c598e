"""The generation task bodies, one per route, all `run_xxx(ctx, payload) -> dict` over the same batch loop.

    run_generate_inputs     seed 004 POST /data/generate   payload: core.generation.payloads.InputsRequest
    run_generate_examples   whole training examples       payload: ExamplesRequest
    run_generate_view       seed 000 POST /data/view       payload: ViewRequest
    run_generate_questions  seed 000 POST /question        payload: QuestionsRequest

What a body reports while it runs: ctx.status at each phase ("Checking the provider", "Generating rows
with …", "Writing the dataset", "Done: …"), ctx.progress(rows, target), ctx.metrics (counts of batches,
failures and drops by reason, concurrency), ctx.usage per request (prompt_tokens, completion_tokens,
requests, cost_usd when the provider has a price), ctx.artifact("rows", {"path": "rows.jsonl"}) as soon
as the file exists. The rows file (rows.py) is what `GET /data/generate/{id}` and `.../data` read.

Resume: a second attempt of the same task (ctx.work_dir = <task dir>/<attempt>/) finds the previous
attempt's rows file beside it, checks that the same payload made it, copies its complete rows into its
own file, teaches them to the gates and quotas, and generates only what is still missing.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from backend.core.errors import InvalidInputError, UnavailableError
from backend.core.generation.chunking import chunk_by_tokens
from backend.core.generation.gates import GateKeeper
from backend.core.generation.modes import ExamplesMode, InputsMode, Mode
from backend.core.generation.parse import parse_items
from backend.core.generation.payloads import (
    ExamplesRequest,
    GenerationOptions,
    InputsRequest,
    QuestionsRequest,
    ViewRequest,
    parse_request,
)
from backend.core.generation.prompts import PROMPT_VERSION
from backend.core.generation.questions import QuestionsMode
from backend.core.generation.rows import (
    ROWS_FILE,
    RowWriter,
    chat_record,
    payload_fingerprint,
    previous_rows_file,
    read_manifest,
    read_rows,
    write_chat_dataset,
    write_manifest,
)
from backend.core.generation.seeds import load_dataset_seeds
from backend.core.generation.view import ClassificationMode, Seq2SeqMode, labels_from_items, labels_request
from backend.core.tokens import get_counter
from backend.services.generation.client import BatchFailed, ChatClient, OpenAIChat
from backend.services.generation.limiter import AdaptiveLimit
from backend.services.generation.local import LocalChat
from backend.services.generation.loop import BatchLoop, Tally, metrics_of
from backend.services.generation.providers import KEY_SECRET, TINY_MODEL_NOTE, Provider, api_key_for, resolve_provider
from backend.services.tasks.context import TaskContext
from backend.settings import Settings

DATASET_FILE = "dataset.jsonl"
SEEDS_FILE = "seeds.json"
USAGE_TOKENIZER = "cl100k_base"  # counts usage for servers that send none (labelled as estimated)

# Builds the mode; gets the chat client (the labels request) and the previous attempt's manifest, if any.
ModeFactory = Callable[[ChatClient, dict[str, Any]], Awaitable[Mode]]


def make_client(provider: Provider, settings: Settings, request_key: str | None, concurrency: int) -> ChatClient:
    if provider.kind == "embedded":
        return LocalChat(provider, settings.data_dir / "models" / "smollm2-135m-instruct")
    return OpenAIChat(provider, api_key_for(provider, request_key), timeout=settings.llm_timeout_seconds,
                      max_retries=settings.llm_max_retries,
                      limiter=AdaptiveLimit(min(concurrency, provider.max_concurrency)))


def run_generate_inputs(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None
                        ) -> dict[str, Any]:
    request = parse_request(InputsRequest, payload)

    async def build(chat: ChatClient, previous: dict[str, Any]) -> Mode:
        return InputsMode(request)

    return _execute(ctx, request, "inputs", build, settings, exploration=request.exploration_mode.value)


def dataset_seed_path(settings: Settings, dataset_path: str, *, any_path: bool = False) -> Path:
    """The seed dataset's path, which must lie under DATA_DIR (a server's own upload or store): the route
    fills it in from a dataset the caller owns, and a payload that names another file is refused, so no
    request can make the server read (and send to a provider) a file of its choosing. The CLI, reading
    its own user's files, passes any_path=True."""
    path = Path(dataset_path).resolve()
    if not any_path and not path.is_relative_to(settings.data_dir.resolve()):
        raise InvalidInputError("dataset_path must be a dataset stored by this server: pick the dataset by its id.",
                                code="invalid_dataset_path")
    return path


def run_generate_examples(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None,
                          any_dataset_path: bool = False) -> dict[str, Any]:
    request = parse_request(ExamplesRequest, payload)
    settings = settings or Settings()
    seed_path = None if request.dataset_path is None else dataset_seed_path(settings, request.dataset_path,
                                                                            any_path=any_dataset_path)

    async def build(chat: ChatClient, previous: dict[str, Any]) -> Mode:
        if seed_path is None:
            return ExamplesMode(request)
        ctx.status("Sampling seeds from the dataset")
        seeds = load_dataset_seeds(seed_path, request.num_seed_examples, random.Random(request.random_seed))
        ctx.log(f"{len(seeds.seeds)} seeds sampled from {seeds.usable} usable examples of {seeds.records} records")
        return ExamplesMode(request, seeds.seeds, seeds.user_texts)

    return _execute(ctx, request, "examples", build, settings, exploration=request.exploration_mode.value)


def run_generate_view(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None
                      ) -> dict[str, Any]:
    request = parse_request(ViewRequest, payload)
    mode_name = "classification" if request.task == "text_classification" else "seq2seq"

    async def build(chat: ChatClient, previous: dict[str, Any]) -> Mode:
        if request.task == "seq2seq":
            return Seq2SeqMode(request)
        labels = request.label_names() or previous.get("labels")  # a resumed attempt keeps its labels
        if labels is None:
            ctx.status("Choosing labels")
            ask = labels_request(request)
            try:
                reply = await chat.complete(ask.messages, ask.sampling)
            except BatchFailed as failure:
                raise UnavailableError(f"The labels request failed ({failure.reason}: {failure.detail}): try again, "
                                       "or give the labels yourself.", code="labels_not_proposed") from None
            ctx.usage(prompt_tokens=max(reply.prompt_tokens, 0), completion_tokens=max(reply.completion_tokens, 0),
                      requests=1)
            labels = labels_from_items(parse_items(reply.text, allow_lines=True).items, request.num_labels or 2)
            ctx.log(f"labels proposed by the model: {', '.join(labels)}")
        return ClassificationMode(request, labels)

    return _execute(ctx, request, mode_name, build, settings, exploration=request.exploration_mode.value)


def run_generate_questions(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None
                           ) -> dict[str, Any]:
    request = parse_request(QuestionsRequest, payload)

    async def build(chat: ChatClient, previous: dict[str, Any]) -> Mode:
        ctx.status("Cutting the content into chunks")
        counter = get_counter(request.tokenizer, allow_download=False)
        chunks = chunk_by_tokens(request.content, counter, request.chunk_tokens)
        ctx.artifact("chunks", [{"chunk": c.number, "start": c.start, "end": c.end, "tokens": c.tokens}
                                for c in chunks])
        ctx.log(f"{len(chunks)} chunks of at most {request.chunk_tokens} tokens ({counter.info.counted_with})")
        return QuestionsMode(request, chunks)

    judge = request.judge_threshold if request.judge else None
    return _execute(ctx, request, "questions", build, settings, exploration=request.exploration_mode.value,
                    judge_threshold=judge)


def _execute(ctx: TaskContext, request: GenerationOptions, mode_name: str, build: ModeFactory,
             settings: Settings | None, *, exploration: str, judge_threshold: int | None = None) -> dict[str, Any]:
    settings = settings or Settings()
    ctx.status("Checking the provider")
    provider = resolve_provider(settings, request.provider)
    chat = make_client(provider, settings, ctx.secret(KEY_SECRET), request.concurrency)
    if provider.tiny:
        ctx.status(TINY_MODEL_NOTE)
    return asyncio.run(_generate(ctx, request, mode_name, build, chat, exploration, judge_threshold))


async def _generate(ctx: TaskContext, request: GenerationOptions, mode_name: str, build: ModeFactory,
                    chat: ChatClient, exploration: str, judge_threshold: int | None) -> dict[str, Any]:
    try:
        fingerprint = payload_fingerprint(mode_name, request.model_dump(mode="json"))
        previous = _previous_manifest(ctx, fingerprint)
        mode = await build(chat, previous or {})
        gates = GateKeeper(min_chars=request.min_chars, max_chars=request.max_chars, seeds=mode.seed_texts,
                           dataset_texts=mode.dataset_texts, negative_texts=mode.negative_texts)
        tally = Tally(target=mode.target)
        writer = RowWriter(ctx.work_dir / ROWS_FILE)
        try:
            if previous is not None:
                _resume(ctx, mode, gates, writer, tally, previous)
            write_manifest(ctx.work_dir, {"mode": mode_name, "fingerprint": fingerprint, "attempt": ctx.attempt,
                                          "provider": chat.provider.name, "model": chat.provider.model,
                                          **mode.manifest()})
            _write_seeds(ctx.work_dir, mode)
            ctx.artifact("rows", {"path": ROWS_FILE, "mode": mode_name})
            provenance = {"provider": chat.provider.name, "model": chat.provider.model,
                          "prompt_version": PROMPT_VERSION, "mode": mode_name, "exploration_mode": exploration,
                          "attempt": ctx.attempt}
            if chat.provider.tiny:
                provenance["tiny_model"] = True
            per_request = math.ceil(mode.target / mode.batch_size)
            max_batches = request.max_batches or 4 * per_request + 4
            ctx.status(f"Generating {mode.target} rows with {chat.provider.label}")
            ctx.progress(tally.accepted, tally.target)
            loop = BatchLoop(ctx, mode, chat, gates, writer, tally, provenance=provenance,
                             max_error_rate=request.max_error_rate, max_batches=max_batches,
                             counter=get_counter(USAGE_TOKENIZER, allow_download=False),
                             judge_threshold=judge_threshold, max_tokens=request.max_tokens)
            await loop.run()
        finally:
            writer.close()
        ctx.status("Writing the dataset")
        records = write_chat_dataset(ctx.work_dir / ROWS_FILE, mode_name, ctx.work_dir / DATASET_FILE)
        ctx.artifact("dataset", {"path": DATASET_FILE, "records": records,
                                 "format": "text" if mode_name == "inputs" else "openai_messages"})
        ctx.metrics(metrics_of(tally, gates, chat))
        done = f"Done: {tally.accepted} of {tally.target} rows"
        if tally.stopped_because == "max_batches":
            done += (f" (stopped after {tally.sent} requests: the answers kept failing the quality gates; see "
                     "the drop counts)")
        ctx.status(done)
        return _result(mode_name, tally, gates, chat, records)
    finally:
        await chat.aclose()


def _previous_manifest(ctx: TaskContext, fingerprint: str) -> dict[str, Any] | None:
    """The manifest of the previous attempt of this same request (with "dir" added), or None."""
    previous = previous_rows_file(ctx.work_dir)
    if previous is None:
        return None
    manifest = read_manifest(previous.parent)
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        ctx.log(f"not resuming from {previous.parent.name}: it was made by another request")
        return None
    return {**manifest, "dir": str(previous.parent)}


def _resume(ctx: TaskContext, mode: Mode, gates: GateKeeper, writer: RowWriter, tally: Tally,
            previous: dict[str, Any]) -> None:
    directory = Path(previous["dir"])
    rows = read_rows(directory / ROWS_FILE)
    carried = [{k: v for k, v in row.items() if k != "n"} for row in rows[: mode.target]]
    writer.write_batch(carried)
    for row in carried:
        candidate = mode.candidate_from_row(row)
        gates.remember([candidate.prompt_text])
        mode.admit(candidate)
    tally.accepted = tally.resumed = len(carried)
    tally.next_batch = 1 + max((int(r.get("provenance", {}).get("batch", -1)) for r in carried), default=-1)
    ctx.status(f"Resuming with {len(carried)} rows from attempt {directory.name}")


def _write_seeds(work_dir: Path, mode: Mode) -> None:
    """The seeds row provenance points at (by position), so `"seeds": [0, 3]` can be looked up."""
    (work_dir / SEEDS_FILE).write_bytes(orjson.dumps(mode.shot_pool))


def _result(mode_name: str, tally: Tally, gates: GateKeeper, chat: ChatClient, records: int) -> dict[str, Any]:
    provider = chat.provider
    return {
        "mode": mode_name,
        "rows": tally.accepted,
        "requested": tally.target,
        "complete": tally.accepted >= tally.target,
        "stopped_because": tally.stopped_because,
        "resumed_rows": tally.resumed,
        "rows_file": ROWS_FILE,
        "dataset_file": DATASET_FILE,
        "dataset_records": records,
        "dataset_format": "text" if mode_name == "inputs" else "openai_messages",
        "batches": {"sent": tally.sent, "succeeded": tally.succeeded, "failed": sum(tally.failed.values()),
                    "failed_by_reason": dict(tally.failed), "judge_requests": tally.judge_requests},
        "items_parsed": tally.parsed_items,
        "parse_methods": dict(tally.parse_methods),
        "dropped": dict(gates.dropped),
        "duplicates_of": dict(gates.duplicate_of),
        "usage": {"prompt_tokens": tally.prompt_tokens, "completion_tokens": tally.completion_tokens,
                  "requests": tally.requests, "cost_usd": None if provider.price is None else round(tally.cost_usd, 6),
                  "estimated_usage_requests": tally.estimated_usage_requests},
        "concurrency": {"final": chat.limiter.limit, "lowest": chat.limiter.lowest, "cuts": chat.limiter.cuts},
        "provider": {"name": provider.name, "model": provider.model, "label": provider.label, "tiny": provider.tiny},
        "warning": TINY_MODEL_NOTE if provider.tiny else None,
        "prompt_version": PROMPT_VERSION,
    }


# The task kinds to register with the engine, by the generation kind their payload is (payloads.REQUESTS).
GENERATION_BODIES = {
    "inputs": run_generate_inputs,
    "examples": run_generate_examples,
    "view": run_generate_view,
    "questions": run_generate_questions,
}

__all__ = ["GENERATION_BODIES", "chat_record", "run_generate_examples", "run_generate_inputs",
           "run_generate_questions", "run_generate_view"]
