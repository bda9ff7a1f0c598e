#!/usr/bin/env python3
"""Benchmark: upload + complete analysis of a generated chat JSONL through the real server.

Starts `slmgen serve` on 127.0.0.1 with a fresh DATA_DIR, uploads the file, polls GET /analyze until the
report is ready, and meanwhile probes GET /health every 20 ms. Prints (and with --record appends to
bench/results.jsonl) wall time, peak RSS of the server process and of its analysis workers, and /health
latency percentiles.

    python bench/bench_analysis.py                 # 100,000 examples (~80 MB), seed 1234
    python bench/bench_analysis.py --examples 1300000   # ~1 GB: bounded memory check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO.parent / "shared" / "bench" / "gen_chat_jsonl.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


def status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples RSS of the server and of each worker every 50 ms; keeps the peaks."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.peak_server_kb = 0
        self.peak_worker_kb = 0
        self.peak_total_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = process_tree(self.server_pid)
            rss = {pid: status_kb(pid, "VmRSS") for pid in pids}
            self.peak_server_kb = max(self.peak_server_kb, rss.get(self.server_pid, 0),
                                      status_kb(self.server_pid, "VmHWM"))
            workers = [v for p, v in rss.items() if p != self.server_pid]
            if workers:
                self.peak_worker_kb = max(self.peak_worker_kb, max(workers))
            self.peak_total_kb = max(self.peak_total_kb, sum(rss.values()))
            time.sleep(0.05)


class HealthProbe(threading.Thread):
    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.latencies_ms: list[float] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self.stop.is_set():
                t0 = time.perf_counter()
                try:
                    client.get("/health").raise_for_status()
                    self.latencies_ms.append((time.perf_counter() - t0) * 1000)
                except httpx.HTTPError:
                    self.errors += 1
                time.sleep(0.02)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(examples: int, seed: int, workdir: Path, keep_file: Path | None) -> dict[str, object]:
    dataset = keep_file or workdir / f"chat_{examples}.jsonl"
    if not dataset.exists():
        print(f"generating {examples:,} examples …", file=sys.stderr)
        subprocess.run([sys.executable, str(GENERATOR), str(examples), str(dataset), str(seed)], check=True)
    size = dataset.stat().st_size
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(workdir / "data"), "MAX_UPLOAD_BYTES": str(4 * 1024**3)}
    env.pop("DATABASE_URL", None)
    slmgen = Path(sys.executable).parent / "slmgen"
    with open(workdir / "server.log", "w") as log:
        server = subprocess.Popen([str(slmgen), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise SystemExit("server did not start; see server.log")
            time.sleep(0.2)
        time.sleep(2.0)  # let the workers finish warming up, as they would on a server already running
        sampler = MemorySampler(server.pid)
        sampler.start()
        probe = HealthProbe(base)
        probe.start()
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, timeout=600) as client, open(dataset, "rb") as f:
            up = client.post("/upload", files={"file": (dataset.name, f, "application/jsonl")})
            up.raise_for_status()
            t_upload = time.perf_counter() - t0
            sid = up.json()["session_id"]
            first_figures: float | None = None
            while True:
                r = client.get(f"/analyze/{sid}")
                if r.status_code == 200:
                    break
                if r.status_code != 202:
                    raise SystemExit(f"analysis failed: {r.status_code} {r.text[:500]}")
                if first_figures is None and r.json().get("partial"):
                    first_figures = time.perf_counter() - t0 - t_upload
                time.sleep(0.05)
        total = time.perf_counter() - t0
        probe.stop.set()
        sampler.stop.set()
        probe.join()
        sampler.join()
        report = r.json()["report"]
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "examples": examples, "file_mb": round(size / 1e6, 1),
            "upload_s": round(t_upload, 2), "upload_plus_analysis_s": round(total, 2),
            "first_figures_after_upload_s": None if first_figures is None else round(first_figures, 2),
            "report_timings": report.get("timings"),
            "total_examples": report["total_examples"], "total_tokens": report["total_tokens"],
            "tokenizer": report["tokenizer"]["counted_with"], "exact": report["tokenizer"]["exact"],
            "exact_duplicates": report["duplicates"]["exact"]["count"],
            "near_duplicates": report["duplicates"]["near"]["count"],
            "peak_server_rss_mb": round(sampler.peak_server_kb / 1024, 1),
            "peak_worker_rss_mb": round(sampler.peak_worker_kb / 1024, 1),
            "peak_total_rss_mb": round(sampler.peak_total_kb / 1024, 1),
            "health_samples": len(probe.latencies_ms), "health_errors": probe.errors,
            "health_p50_ms": round(statistics.median(probe.latencies_ms), 2) if probe.latencies_ms else None,
            "health_p99_ms": round(percentile(probe.latencies_ms, 99), 2),
            "health_max_ms": round(max(probe.latencies_ms), 2) if probe.latencies_ms else None,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--file", type=Path, help="reuse (or create) the generated file here")
    parser.add_argument("--record", action="store_true", help="append the result to bench/results.jsonl")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slmgen-bench-"))
    try:
        result = run(args.examples, args.seed, workdir, args.file)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if args.record:
        with open(REPO / "bench" / "results.jsonl", "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
