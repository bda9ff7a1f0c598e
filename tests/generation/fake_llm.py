"""A misbehaving OpenAI-compatible server on 127.0.0.1, for the fault tests (a real HTTP server, real SDK).

Each request to /v1/chat/completions takes the next behaviour from `script` (then `default`):

    ok          200, a well-formed answer to the prompt (see `answer`): distinct rows each time
    429         429 with retry-after-ms (the SDK waits that long, then retries)
    500         500 with an error body
    slow        sleeps `slow_seconds` before answering (past the client's timeout)
    bad_json    200 whose body is not JSON
    prose       200 whose message is prose with no rows in it
    401 / 404   the key is refused / the model is unknown
    quota       429 insufficient_quota (no retry can help)

Every request's headers and body are kept in `requests` (to check what was sent, and what was not).
`hold_after = n` makes every "ok" answer after the first n wait until `release` is set (a test that must see
a job part-way through, without counting on timing).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

WORDS = ("apple", "river", "engine", "violet", "harbor", "lantern", "meadow", "quartz", "saddle", "tunnel",
         "orchid", "pepper", "canyon", "marble", "falcon", "ginger", "island", "jacket", "kettle", "ladder")


class FakeLLM:
    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.default = "ok"
        self.slow_seconds = 2.0
        self.requests: list[dict[str, Any]] = []
        self.counter = itertools.count()
        self.in_flight = 0
        self.delayed_in_flight = 0
        self.max_in_flight = 0  # most "ok" answers held at once by `delay`
        self.delay = 0.0  # seconds every "ok" answer takes (to hold requests in flight)
        self.echo_first_shot = False  # examples mode: answer with a copy of the first example shown, too
        self.hold_after: int | None = None
        self.release = threading.Event()
        self.answered = 0
        self.lock = threading.Lock()
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"]),
                                     Route("/v1/models", self.models, methods=["GET"])])
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    def start(self) -> FakeLLM:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else self.default

    # --- routes ---
    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        behaviour = self.next_behaviour()
        self.in_flight += 1
        try:
            return await self._answer(behaviour, body)
        finally:
            self.in_flight -= 1

    async def _answer(self, behaviour: str, body: dict[str, Any]) -> Response:
        if behaviour == "429":
            return JSONResponse({"error": {"message": "Rate limit reached", "type": "requests"}}, status_code=429,
                                headers={"retry-after-ms": "20"})
        if behaviour == "quota":
            return JSONResponse({"error": {"message": "You exceeded your current quota", "code": "insufficient_quota",
                                           "type": "insufficient_quota"}}, status_code=429)
        if behaviour == "500":
            return JSONResponse({"error": {"message": "internal error"}}, status_code=500,
                                headers={"retry-after-ms": "10"})
        if behaviour == "401":
            return JSONResponse({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}},
                                status_code=401)
        if behaviour == "404":
            return JSONResponse({"error": {"message": "The model does not exist"}}, status_code=404)
        if behaviour == "bad_json":
            return Response("{'id': not json at all", media_type="application/json")
        if behaviour == "slow":
            await asyncio.sleep(self.slow_seconds)
        if self.hold_after is not None and behaviour == "ok":
            self.answered += 1
            while self.hold_after is not None and self.answered > self.hold_after and not self.release.is_set():
                await asyncio.sleep(0.02)
        if self.delay:  # counted apart: a hanging request of an earlier test must not count here
            self.delayed_in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.delayed_in_flight)
            await asyncio.sleep(self.delay)
            self.delayed_in_flight -= 1
        content = "I am sorry, I cannot help with that." if behaviour == "prose" else self.answer(body["messages"])
        return JSONResponse(completion(content, body.get("model", "fake-model")))

    # --- a well-formed answer to each of the product's prompts ---
    def unique(self) -> str:
        n = next(self.counter)
        return f"{WORDS[n % len(WORDS)]} case {n} with {WORDS[(n * 7 + 3) % len(WORDS)]} detail {n * 31 % 997}"

    def answer(self, messages: list[dict[str, str]]) -> str:
        prompt = messages[-1]["content"]
        wanted = re.search(r"(?:Write|Name the) (\d+)", prompt)
        count = int(wanted.group(1)) if wanted else 1
        if "Rate each pair" in prompt:
            pairs = json.loads(prompt.split("Question/answer pairs:\n", 1)[1].split("\n\n", 1)[0])
            return json.dumps([{"n": p["n"], "score": 5 if p["n"] % 2 else 2} for p in pairs])
        if "Name the" in prompt:
            return json.dumps(["positive", "negative", "neutral"][:count])
        if '"label":' in prompt:
            label = re.search(r'correct label is "([^"]+)"', prompt)
            return json.dumps([{"text": f"text about {self.unique()}", "label": label.group(1) if label else "x"}
                               for _ in range(count)])
        if '"question":' in prompt:
            text = prompt.split("Text:\n", 1)[-1].split("Text A:\n", 1)[-1]
            words = re.findall(r"[A-Za-z]{5,}", text)[:6]
            return json.dumps([{"question": f"What about {self.unique()}?", "answer": " ".join(words)}
                               for _ in range(count)])
        if '"output":' in prompt:
            return json.dumps([{"input": f"source {self.unique()}", "output": f"target {self.unique()}"}
                               for _ in range(count)])
        if '"messages":' in prompt:
            turns = prompt.rsplit("shaped like", 1)[-1].count('"role": "user"')
            shots = [json.loads(line) for line in prompt.splitlines() if line.startswith('{"messages"')]
            echo = shots[:1] if self.echo_first_shot else []
            return json.dumps(echo + [{"messages": [m for _ in range(max(1, turns)) for m in (
                {"role": "user", "content": f"user asks {self.unique()}"},
                {"role": "assistant", "content": f"assistant answers {self.unique()}"})]} for _ in range(count)])
        return "```json\n" + json.dumps([f"input {self.unique()}" for _ in range(count)]) + "\n```"


def completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20 + len(content) // 4,
                  "total_tokens": 120 + len(content) // 4},
    }


def serve_forever(port: int, delay: float) -> None:
    """`python -m tests.generation.fake_llm PORT DELAY`: the stand-in in a process of its own (benchmarks)."""
    server = FakeLLM()
    server.delay = delay
    config = uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uvicorn.Server(config).run()


if __name__ == "__main__":
    import sys

    serve_forever(int(sys.argv[1]), float(sys.argv[2]))
