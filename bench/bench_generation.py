"""Generation benchmark: the generator's own overhead per row against direct SDK calls, and throughput.

    python bench/bench_generation.py [--requests 60] [--batch-size 5] [--delay 0.05] [--rounds 3]
                                     [--real MODEL_DIR --real-requests 4]

Against the same local OpenAI-compatible server (the project's stand-in, in a process of its own, answering
each request after `delay` seconds with `batch_size` distinct rows), two clients make the same requests:

    direct     the openai SDK alone: AsyncOpenAI, a semaphore of the same concurrency, json.loads of each
               answer, rows appended to a JSONL file (what a minimal script does)
    generator  run_generate_inputs through LocalContext: lenient parse, every quality gate (MinHash
               near-duplicates against all rows so far, novelty), provenance, usage, metrics, rows file

Reported per row: wall time and this process's CPU time (the server's is in its own process), each the
median of `rounds` runs measured in alternation; the ratio generator/direct is the overhead (goal <= 1.1
in wall time). Then throughput (rows/s) of the generator at concurrency 1, 4 and 16. With --real, the same
at concurrency 1 and 4 against `transformers serve MODEL_DIR` (a real CPU model: it generates one request
at a time, so concurrency only queues there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import openai

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.services.generation.bodies import run_generate_inputs  # noqa: E402
from backend.services.tasks.context import LocalContext  # noqa: E402
from backend.settings import Settings  # noqa: E402

SEEDS = ["Where is my order?", "How do I return a damaged item?", "Can I pay with a gift card?"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server not ready")


def start_stand_in(delay: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.generation.fake_llm", str(port), str(delay)], cwd=ROOT)
    wait_ready(f"http://127.0.0.1:{port}/v1/models", process)
    return process, f"http://127.0.0.1:{port}/v1"


def payload(requests: int, batch_size: int, concurrency: int, max_tokens: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"application_description": "A customer support assistant for an online shop",
                            "num_inputs_to_generate": requests * batch_size, "seeds": SEEDS,
                            "batch_size": batch_size, "concurrency": concurrency, "max_error_rate": 1.0,
                            "max_batches": requests}
    if max_tokens:
        body["max_tokens"] = max_tokens
    return body


def run_generator(settings: Settings, body: dict[str, Any]) -> tuple[float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = LocalContext(Path(tmp) / "task" / "1")
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_generate_inputs(ctx, body, settings=settings)
        return time.perf_counter() - wall, time.process_time() - cpu, result["rows"], result["batches"]["sent"]


def run_direct(base_url: str, model: str, body: dict[str, Any]) -> tuple[float, float, int, int]:
    """The same requests (the generator's own first prompt) with the SDK alone."""
    from backend.core.generation.modes import InputsMode
    from backend.core.generation.payloads import InputsRequest, parse_request

    request = parse_request(InputsRequest, body)
    mode = InputsMode(request)

    async def main(out: Path) -> int:
        client = openai.AsyncOpenAI(api_key="no-key", base_url=base_url, max_retries=3)
        gate = asyncio.Semaphore(request.concurrency)
        rows = 0

        async def one(number: int) -> list[Any]:
            batch = mode.next_request(number)
            async with gate:
                response = await client.chat.completions.create(
                    model=model, messages=batch.messages,  # type: ignore[arg-type]
                    temperature=batch.sampling.temperature, top_p=batch.sampling.top_p,
                    max_tokens=request.max_tokens or batch.sampling.max_tokens)
            text = response.choices[0].message.content or ""
            try:
                return list(json.loads(text.strip().strip("`").removeprefix("json")))
            except (json.JSONDecodeError, TypeError):
                return []

        with out.open("w") as f:
            for items in await asyncio.gather(*(one(n) for n in range(request.max_batches or 1))):
                for item in items:
                    f.write(json.dumps({"input": item}) + "\n")
                    rows += 1
        await client.close()
        return rows

    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        rows = asyncio.run(main(Path(tmp) / "rows.jsonl"))
        return time.perf_counter() - wall, time.process_time() - cpu, rows, request.max_batches or 1


def settings_for(base_url: str, model: str, data_dir: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, llm_timeout_seconds=600,  # type: ignore[call-arg]
                    llm_providers=[{"name": "bench", "base_url": base_url, "model": model, "max_concurrency": 64}])


def overhead(base_url: str, model: str, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = settings_for(base_url, model, data_dir)
    body = payload(args.requests, args.batch_size, args.concurrency)
    runs: dict[str, list[tuple[float, float, int, int]]] = {"direct": [], "generator": []}
    run_direct(base_url, model, body)  # warm both paths (imports, connections, tokenizer caches)
    run_generator(settings, body)
    for _ in range(args.rounds):  # alternate, so load from other work on the machine hits both alike
        runs["direct"].append(run_direct(base_url, model, body))
        runs["generator"].append(run_generator(settings, body))
    out: dict[str, Any] = {}
    for name, values in runs.items():
        rows = values[0][2]
        out[name] = {"rows": rows, "requests": values[0][3],
                     "wall_ms_per_row": 1000 * statistics.median(v[0] for v in values) / max(rows, 1),
                     "cpu_ms_per_row": 1000 * statistics.median(v[1] for v in values) / max(rows, 1)}
    out["ratio_wall"] = out["generator"]["wall_ms_per_row"] / out["direct"]["wall_ms_per_row"]
    out["ratio_cpu"] = out["generator"]["cpu_ms_per_row"] / out["direct"]["cpu_ms_per_row"]
    return out


def throughput(base_url: str, model: str, requests: int, batch_size: int, levels: tuple[int, ...],
               data_dir: Path, max_tokens: int | None = None) -> dict[int, float]:
    settings = settings_for(base_url, model, data_dir)
    out = {}
    for level in levels:
        wall, _, rows, _ = run_generator(settings, payload(requests, batch_size, level, max_tokens))
        out[level] = rows / wall
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the stand-in takes per answer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--real", type=Path, help="a model directory to serve with `transformers serve`")
    parser.add_argument("--real-requests", type=int, default=4)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as data:
        process, base_url = start_stand_in(args.delay)
        try:
            report["overhead"] = overhead(base_url, "fake-model", args, Path(data))
            report["throughput_rows_per_s"] = throughput(base_url, "fake-model", args.requests, args.batch_size,
                                                         (1, 4, 16), Path(data))
        finally:
            process.terminate()
            process.wait()
        if args.real:
            port = free_port()
            cli = Path(sys.executable).with_name("transformers")
            real = subprocess.Popen([str(cli), "serve", str(args.real), "--host", "127.0.0.1", "--port", str(port),
                                     "--device", "cpu"], env={**os.environ, "HF_HUB_OFFLINE": "1"},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_ready(f"http://127.0.0.1:{port}/health", real)
                url = f"http://127.0.0.1:{port}/v1"
                model = httpx.get(f"{url}/models").json()["data"][0]["id"]
                real_args = argparse.Namespace(requests=args.real_requests, batch_size=3, concurrency=1, rounds=1)
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                report["real_overhead"] = overhead_real(url, model, real_args, Path(data))
                report["real_throughput_rows_per_s"] = throughput(url, model, args.real_requests, 3, (1, 4),
                                                                  Path(data), max_tokens=48)
            finally:
                real.terminate()
                real.wait()
    print(json.dumps(report, indent=2))


def overhead_real(base_url: str, model: str, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Wall time per request against a real model, direct and through the generator (48 tokens each)."""
    settings = settings_for(base_url, model, data_dir)
    body = payload(args.requests, args.batch_size, 1, max_tokens=48)
    direct = run_direct(base_url, model, body)
    generator = run_generator(settings, body)
    return {"direct_s_per_request": direct[0] / direct[3], "generator_s_per_request": generator[0] / generator[3],
            "ratio_wall": (generator[0] / generator[3]) / (direct[0] / direct[3])}


if __name__ == "__main__":
    main()
