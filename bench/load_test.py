#!/usr/bin/env python3
"""Load test: C concurrent clients upload ~1 MB chat JSONL files, wait for their analyses, read previews.

Starts the real server (`slmgen serve`) on 127.0.0.1 with a fresh DATA_DIR and generous rate limits (the
point is capacity, not the limiter), runs the clients for `--duration` seconds, lets every started upload
finish, stops the server and prints JSON: errors, lost uploads, per-route latency percentiles, throughput.

    python bench/load_test.py                          # the full form: 50 clients for 60 s
    python bench/load_test.py --clients 8 --duration 10

An upload is lost unless its analysis ends in a 200 report whose total_examples, and whose preview's
total_count, equal the number of records sent. Any non-2xx answer or transport error counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
POLL_SECONDS = 0.25
PREVIEW_PAGES = 3
PREVIEW_PAGE_SIZE = 20
DRAIN_SECONDS = 300  # after the run, how long started uploads may take to finish before they count as lost
DISTINCT_FILES = 8

# --- a small chat-JSONL generator (same shape as the project's benchmark input) --------------------------

WORDS = ("the", "model", "data", "train", "token", "layer", "batch", "python", "function", "server", "request",
         "deploy", "cache", "index", "query", "vector", "file", "network", "memory", "time", "people", "year",
         "good", "work", "first", "well", "way", "new", "want", "because", "give", "day", "café", "données",
         "東京", "niño", "über")
SYSTEMS = ("You are a helpful assistant.", "You answer in at most three sentences.",
           "You extract fields from user text and reply with JSON only.")


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 22))]
    return " ".join(words).capitalize() + rng.choice(".?!")


def chat_record(rng: random.Random) -> dict[str, Any]:
    messages = [{"role": "system", "content": rng.choice(SYSTEMS)}] if rng.random() < 0.3 else []
    for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
        messages.append({"role": "user", "content": " ".join(sentence(rng) for _ in range(rng.randint(1, 3)))})
        messages.append({"role": "assistant",
                         "content": " ".join(sentence(rng) for _ in range(rng.randint(1, 8)))})
    return {"messages": messages}


def chat_jsonl(target_bytes: int, seed: int) -> tuple[bytes, int]:
    """(file content of about `target_bytes`, number of records)."""
    rng = random.Random(seed)
    lines: list[bytes] = []
    size = 0
    while size < target_bytes:
        line = json.dumps(chat_record(rng), ensure_ascii=False).encode() + b"\n"
        lines.append(line)
        size += len(line)
    return b"".join(lines), len(lines)


# --- the server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATA_DIR": str(workdir / "data"), "UPLOAD_RATE_PER_MINUTE": "1000000",
           "GENERATE_RATE_PER_MINUTE": "1000000", "MAX_ANALYSES_PER_CLIENT": "100000",
           "MAX_QUEUED_ANALYSES": "100000"}
    env.pop("DATABASE_URL", None)
    slmgen = Path(sys.executable).parent / "slmgen"
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - the server writes to it until stopped
    # cwd is the temporary folder, so no .env of the developer's is read.
    return subprocess.Popen([str(slmgen), "serve", "--host", HOST, "--port", str(port)], cwd=workdir, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


async def wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with code {server.returncode}; see server.log")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not answer /health in time; see server.log")


async def stop_server(server: subprocess.Popen[bytes]) -> int:
    server.send_signal(signal.SIGTERM)
    try:
        return await asyncio.to_thread(server.wait, 30)
    except subprocess.TimeoutExpired:
        server.kill()
        return await asyncio.to_thread(server.wait)


# --- the clients --------------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    uploaded: dict[str, int] = field(default_factory=dict)  # session id -> records sent
    verified: set[str] = field(default_factory=set)  # sessions with a matching report and preview
    turnaround: list[float] = field(default_factory=list)  # upload sent -> report received, seconds
    bytes_uploaded: int = 0

    def error(self, route: str, what: str) -> None:
        self.errors[route] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{route}: {what[:300]}")


async def timed(tally: Tally, route: str, client: httpx.AsyncClient, method: str, url: str,
                **kwargs: Any) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        tally.error(route, f"{type(exc).__name__}: {exc}")
        return None
    tally.latencies[route].append(time.perf_counter() - started)
    if response.status_code >= 300 and not (route == "GET /analyze" and response.status_code == 202):
        tally.error(route, f"{response.status_code} {response.text}")
        return None
    return response


async def one_round(client: httpx.AsyncClient, tally: Tally, data: bytes, records: int, drain_by: float) -> None:
    """Upload, poll until the report is ready, check it, read the first preview pages."""
    sent = time.perf_counter()
    up = await timed(tally, "POST /upload", client, "POST", "/upload",
                     files={"file": ("chat.jsonl", data, "application/jsonl")})
    if up is None:
        return
    session_id = up.json()["session_id"]
    tally.uploaded[session_id] = records
    tally.bytes_uploaded += len(data)
    while True:
        if time.monotonic() > drain_by:
            return  # not finished in time: counted as lost
        r = await timed(tally, "GET /analyze", client, "GET", f"/analyze/{session_id}")
        if r is None:
            return
        if r.status_code == 200:
            break
        await asyncio.sleep(POLL_SECONDS)
    tally.turnaround.append(time.perf_counter() - sent)
    if r.json()["total_examples"] != records:
        tally.error("GET /analyze", f"{session_id}: {r.json()['total_examples']} examples, {records} sent")
        return
    for page in range(1, PREVIEW_PAGES + 1):
        p = await timed(tally, "GET /preview", client, "GET", f"/preview/{session_id}",
                        params={"page": page, "page_size": PREVIEW_PAGE_SIZE})
        if p is None:
            return
        if p.json()["total_count"] != records or len(p.json()["examples"]) != PREVIEW_PAGE_SIZE:
            tally.error("GET /preview", f"{session_id}: total_count {p.json()['total_count']}, {records} sent")
            return
    tally.verified.add(session_id)


async def client_loop(base: str, files: list[tuple[bytes, int]], tally: Tally, stop_at: float,
                      drain_by: float, index: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        turn = index
        while time.monotonic() < stop_at:
            data, records = files[turn % len(files)]
            await one_round(client, tally, data, records, drain_by)
            turn += 1


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000, 1)

    return {"count": len(ordered), "p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


async def run_load(clients: int = 50, duration: float = 60.0, file_bytes: int = 1_000_000,
                   workdir: Path | None = None) -> dict[str, Any]:
    """Start a server, run the clients for `duration` s, drain, stop the server; return the figures."""
    with tempfile.TemporaryDirectory(prefix="slmgen-load-") as scratch:
        folder = workdir or Path(scratch)
        files = [chat_jsonl(file_bytes, seed) for seed in range(DISTINCT_FILES)]
        port = free_port()
        base = f"http://{HOST}:{port}"
        server = start_server(folder, port)
        tally = Tally()
        try:
            await wait_until_up(base, server)
            started = time.monotonic()
            stop_at = started + duration
            await asyncio.gather(*(client_loop(base, files, tally, stop_at, stop_at + DRAIN_SECONDS, n)
                                   for n in range(clients)))
            elapsed = time.monotonic() - started
        finally:
            exit_code = await stop_server(server)
        on_disk = {p.parent.name for p in (folder / "data" / "uploads").glob("*/upload*")}
        lost = sorted((set(tally.uploaded) - tally.verified) | (set(tally.uploaded) - on_disk))
        requests = sum(len(v) for v in tally.latencies.values())
        return {
            "clients": clients,
            "duration_s": duration,
            "elapsed_s": round(elapsed, 2),
            "file_bytes": len(files[0][0]),
            "records_per_file": files[0][1],
            "uploads": len(tally.uploaded),
            "verified": len(tally.verified),
            "uploads_on_disk": len(on_disk),
            "lost_uploads": len(lost),
            "errors": sum(tally.errors.values()),
            "errors_by_route": dict(tally.errors),
            "error_samples": tally.error_samples,
            "throughput": {
                "analyses_per_s": round(len(tally.verified) / elapsed, 2),
                "uploaded_mb_per_s": round(tally.bytes_uploaded / elapsed / 1e6, 2),
                "requests_per_s": round(requests / elapsed, 1),
            },
            "latency": {route: percentiles(values) for route, values in sorted(tally.latencies.items())},
            "upload_to_report": percentiles(tally.turnaround),
            "server_exit_code": exit_code,
            "cpus": os.cpu_count(),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds during which uploads start")
    parser.add_argument("--file-bytes", type=int, default=1_000_000)
    args = parser.parse_args()
    result = asyncio.run(run_load(args.clients, args.duration, args.file_bytes))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["errors"] == 0 and result["lost_uploads"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
