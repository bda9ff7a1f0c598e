"""The batch loop every generation mode runs: requests in flight, answers through the gates, rows written.

    while rows are still needed:
        keep up to limiter.limit requests in flight (no more than the rows still needed call for);
        when answers arrive, send their successors first, then review the answers
        on each answer (in batch order): parse leniently -> per item: structure, fields,
        duplicates/novelty, the mode's own check, then (questions) the judge -> append the batch's
        accepted rows to rows.jsonl -> usage, cost, metrics, progress
        a failed request: counted by reason; too high a share of failures stops the task
        a stop asked for: in-flight requests are cancelled (not waited for) and TaskCancelled raised

Every item a model returned ends up in exactly one place: a written row, or a drop reason; every request
ends up as a success or a failure reason. `max_batches` bounds the requests, so a model whose answers
never pass the gates ends the task with fewer rows than asked for (and says so) instead of running forever.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from backend.core.errors import UnavailableError
from backend.core.generation.gates import DropReason, GateKeeper
from backend.core.generation.modes import BatchRequest, Candidate, Mode
from backend.core.generation.parse import parse_items
from backend.core.generation.questions import QuestionsMode, scores_from_items
from backend.core.generation.rows import RowWriter
from backend.core.tokens import TokenCounter
from backend.services.generation.client import BatchFailed, ChatClient, ChatReply
from backend.services.tasks.context import TaskContext

POLL_SECONDS = 0.2  # how often a stop request is looked for while answers are awaited
MIN_BATCHES_FOR_RATE = 4  # the error rate is judged once this many requests have finished
_ADVICE = {
    "rate_limited": "the provider keeps rate-limiting: lower concurrency, or raise the account's rate limit",
    "server_error": "the provider keeps failing: try again later, or pick another provider",
    "timeout": "the provider is too slow: try again later, lower batch_size, or raise LLM_TIMEOUT_SECONDS",
    "connection": "the provider cannot be reached: check that its server is up",
    "invalid_response": "the provider does not answer in the OpenAI API's format: check its base URL",
    "malformed_output": "the model does not answer in the format asked for: pick a larger model",
    "empty_output": "the model answers with nothing: pick another model",
}


@dataclass
class Tally:
    target: int
    accepted: int = 0
    resumed: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    parsed_items: int = 0
    parse_methods: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cost_usd: float = 0.0
    estimated_usage_requests: int = 0
    judge_requests: int = 0
    next_batch: int = 0
    stopped_because: str | None = None

    @property
    def finished(self) -> int:
        return self.succeeded + sum(self.failed.values())


class BatchLoop:
    def __init__(self, ctx: TaskContext, mode: Mode, chat: ChatClient, gates: GateKeeper, writer: RowWriter,
                 tally: Tally, *, provenance: dict[str, Any], max_error_rate: float, max_batches: int,
                 counter: TokenCounter, judge_threshold: int | None = None, max_tokens: int | None = None) -> None:
        self.ctx = ctx
        self.mode = mode
        self.chat = chat
        self.gates = gates
        self.writer = writer
        self.tally = tally
        self.provenance = provenance
        self.max_error_rate = max_error_rate
        self.max_batches = max_batches
        self.counter = counter
        self.judge_threshold = judge_threshold
        self.max_tokens = max_tokens
        self._pending: dict[asyncio.Task[ChatReply], BatchRequest] = {}
        self._answered: list[BatchRequest] = []

    async def run(self) -> None:
        try:
            await self._run()
        finally:  # a stop, a fatal error or the end: nothing stays in flight
            for task in self._pending:
                task.cancel()
            await asyncio.gather(*self._pending, return_exceptions=True)
            self._pending.clear()

    async def _run(self) -> None:
        first = self.tally.next_batch
        while True:
            self._fill(first)
            if not self._pending:
                break
            done, _ = await asyncio.wait(self._pending, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            self.ctx.checkpoint()
            answered = sorted(((self._pending.pop(task), task) for task in done), key=lambda pair: pair[0].number)
            # The next requests go out before these answers are reviewed, so the provider is never idle
            # while the gates run (the answered batches still count as rows to come until reviewed).
            self._answered = [request for request, _ in answered]
            self._fill(first)
            await asyncio.sleep(0)
            for request, task in answered:
                self._answered.remove(request)
                self.mode.release(request)
                await self._finish(request, task)
                self.ctx.checkpoint()
        if self.tally.accepted < self.tally.target:
            self.tally.stopped_because = "max_batches"

    def _fill(self, first: int) -> None:
        in_flight_rows = sum(r.wanted for r in [*self._pending.values(), *self._answered])
        while (len(self._pending) < self.chat.limiter.limit
               and self.tally.accepted + in_flight_rows < self.tally.target
               and self.tally.next_batch - first < self.max_batches):
            request = self.mode.next_request(self.tally.next_batch)
            if self.max_tokens is not None and request.sampling.max_tokens > self.max_tokens:
                request = replace(request, sampling=request.sampling.with_max_tokens(self.max_tokens))
            self.tally.next_batch += 1
            self.tally.sent += 1
            task = asyncio.ensure_future(self.chat.complete(request.messages, request.sampling))
            self._pending[task] = request
            in_flight_rows += request.wanted

    async def _finish(self, request: BatchRequest, task: asyncio.Task[ChatReply]) -> None:
        try:
            reply = task.result()
        except BatchFailed as failure:
            self.tally.requests += 1
            self.ctx.usage(requests=1)
            self._fail(request, failure.reason, failure.detail)
            return
        self._count_usage(request, reply)
        parsed = parse_items(reply.text, allow_lines=self.mode.allow_lines)
        if not parsed.items:
            self._fail(request, "malformed_output", f"no {self.mode.name} rows could be read from the answer")
            return
        self.tally.succeeded += 1
        self.tally.parsed_items += len(parsed.items)
        self.tally.parse_methods[parsed.method] += 1
        kept = await self._review(request, parsed.items)
        written = self.writer.write_batch([{**c.row, "provenance": self._provenance(request)} for c in kept])
        self.tally.accepted += len(written)
        self.ctx.log(f"batch {request.number}: {len(parsed.items)} parsed ({parsed.method}), {len(written)} kept")
        self._report()

    async def _review(self, request: BatchRequest, items: list[Any]) -> list[Candidate]:
        """Each item through the gates in order; exactly one drop reason for each item not kept."""
        shaped = [self.mode.candidate(item, request) for item in items]
        reasons = [c if isinstance(c, DropReason) else self.gates.check_fields(c.texts) for c in shaped]
        checked = [i for i, reason in enumerate(reasons) if reason is None]
        keys = dict(zip(checked, self.gates.band_keys([self._text(shaped[i]) for i in checked]), strict=True))
        kept: list[Candidate] = []
        for position, candidate in enumerate(shaped):
            reason = reasons[position]
            if reason is None and self.tally.accepted + len(kept) >= self.tally.target:
                reason = DropReason.BEYOND_TARGET
            if reason is None:
                assert isinstance(candidate, Candidate)
                reason = self.gates.check_new(candidate.prompt_text, keys[position]) or self.mode.admit(candidate)
            if reason is None:
                assert isinstance(candidate, Candidate)
                kept.append(candidate)
            else:
                self.gates.drop(reason)
        if kept and self.judge_threshold is not None and isinstance(self.mode, QuestionsMode):
            kept = await self._judge(request, kept)
        return kept

    @staticmethod
    def _text(candidate: Candidate | DropReason) -> str:
        assert isinstance(candidate, Candidate)
        return candidate.prompt_text

    async def _judge(self, request: BatchRequest, pairs: list[Candidate]) -> list[Candidate]:
        assert isinstance(self.mode, QuestionsMode) and self.judge_threshold is not None
        judge = self.mode.judge_request(request, pairs)
        self.tally.judge_requests += 1
        try:
            reply = await self.chat.complete(judge.messages, judge.sampling)
        except BatchFailed as failure:
            self.ctx.usage(requests=1)
            self.tally.requests += 1
            self.tally.failed[f"judge_{failure.reason}"] += 1
            self.gates.drop(DropReason.JUDGE_UNPARSED, len(pairs))
            return []
        self._count_usage(judge, reply)
        scores = scores_from_items(parse_items(reply.text).items, len(pairs))
        kept = []
        for pair, score in zip(pairs, scores, strict=True):
            if score is None:
                self.gates.drop(DropReason.JUDGE_UNPARSED)
            elif score < self.judge_threshold:
                self.gates.drop(DropReason.JUDGE_BELOW_THRESHOLD)
            else:
                kept.append(Candidate({**pair.row, "score": score}, pair.prompt_text, pair.texts, pair.label,
                                      pair.source_text))
        return kept

    def _count_usage(self, request: BatchRequest, reply: ChatReply) -> None:
        prompt, completion = reply.prompt_tokens, reply.completion_tokens
        if prompt < 0 or completion < 0:  # a server that sends no usage: count with the tokenizer, and say so
            prompt = sum(self.counter.count_batch([m["content"] for m in request.messages]))
            completion = self.counter.count(reply.text)
            self.tally.estimated_usage_requests += 1
        price = self.chat.provider.price
        cost = 0.0 if price is None else price.cost(prompt, completion)
        self.tally.prompt_tokens += prompt
        self.tally.completion_tokens += completion
        self.tally.requests += 1
        self.tally.cost_usd += cost
        usage: dict[str, float] = {"prompt_tokens": prompt, "completion_tokens": completion, "requests": 1}
        if price is not None:
            usage["cost_usd"] = cost
        self.ctx.usage(**usage)

    def _fail(self, request: BatchRequest, reason: str, detail: str) -> None:
        self.tally.failed[reason] += 1
        self.ctx.log(f"batch {request.number} failed ({reason}): {detail}")
        self._report()
        failed = sum(self.tally.failed.values())
        finished = self.tally.finished
        if finished >= min(MIN_BATCHES_FOR_RATE, self.max_batches) and failed > self.max_error_rate * finished:
            reasons = ", ".join(f"{name} {count}" for name, count in self.tally.failed.most_common())
            top = self.tally.failed.most_common(1)[0][0]
            self.tally.stopped_because = "error_rate"
            raise UnavailableError(
                f"{failed} of {finished} requests to the provider {self.chat.provider.name!r} failed ({reasons}), "
                f"more than the {self.max_error_rate:.0%} allowed, so the task stopped with {self.tally.accepted} "
                f"rows written: {_ADVICE.get(top.removeprefix('judge_'), 'see the task log')}.",
                code="generation_error_rate", failed=dict(self.tally.failed), rows=self.tally.accepted)

    def _provenance(self, request: BatchRequest) -> dict[str, Any]:
        return {**self.provenance, "batch": request.number, "seeds": list(request.seeds_used)}

    def _report(self) -> None:
        self.ctx.progress(self.tally.accepted, self.tally.target)
        self.ctx.metrics(metrics_of(self.tally, self.gates, self.chat))


def metrics_of(tally: Tally, gates: GateKeeper, chat: ChatClient) -> dict[str, float | int | str | bool | None]:
    values: dict[str, float | int | str | bool | None] = {
        "rows": tally.accepted, "target": tally.target, "batches_sent": tally.sent,
        "batches_succeeded": tally.succeeded, "batches_failed": sum(tally.failed.values()),
        "items_parsed": tally.parsed_items, "rows_dropped": sum(gates.dropped.values()),
        "concurrency": chat.limiter.limit, "throttled_responses": getattr(chat, "throttled", 0),
        "http_attempts": getattr(chat, "http_attempts", 0),
    }
    values.update({f"dropped_{reason}": count for reason, count in gates.dropped.items()})
    values.update({f"failed_{reason}": count for reason, count in tally.failed.items()})
    return values
