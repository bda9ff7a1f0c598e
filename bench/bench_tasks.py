#!/usr/bin/env python3
"""Benchmark: what the task engine adds to one task, measured on the smallest real task there is.

Starts `slmgen serve` (embedded workers, SQLite queue) with a fresh DATA_DIR, then analyses the OpenAI
cookbook's 5-example file N times, one after the other: upload → GET /analyze until 200. The same analysis
run in-process (plan, the one chunk, merge; no queue, no database) gives the work itself; the difference is the
engine's overhead per task (admission, queue hand-over, worker pick-up, claim, three messages, the events,
the finishing transaction, the client's polling at 20 ms).

    python bench/bench_tasks.py --tasks 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TOY = REPO.parent / "shared" / "data" / "openai_cookbook_toy_chat_fine_tuning.jsonl"
sys.path.insert(0, str(REPO))

from bench.bench_analysis import free_port, percentile  # noqa: E402


def in_process_seconds(runs: int) -> list[float]:
    from backend.core.analysis import AnalysisOptions, analyze_file

    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as store:
            started = time.perf_counter()
            analyze_file(TOY, AnalysisOptions(), Path(store))
            times.append(time.perf_counter() - started)
    return times


def through_engine_seconds(runs: int, workdir: Path) -> tuple[list[float], list[float]]:
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(workdir / "data"), "UPLOAD_RATE_PER_MINUTE": "0"}
    env.pop("DATABASE_URL", None)
    slmgen = Path(sys.executable).parent / "slmgen"
    with open(workdir / "server.log", "w") as log:
        server = subprocess.Popen([str(slmgen), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    data = TOY.read_bytes()
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.time() + 60
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline:
                    raise SystemExit("server did not start; see server.log")
                time.sleep(0.2)
            totals, queue_waits = [], []
            for n in range(runs + 3):  # the first three warm the workers up and are not counted
                started = time.perf_counter()
                up = client.post("/upload", files={"file": ("toy.jsonl", data)}).json()
                while (r := client.get(f"/analyze/{up['session_id']}")).status_code == 202:
                    time.sleep(0.02)
                elapsed = time.perf_counter() - started
                task = client.get(f"/tasks/{up['task_id']}").json()
                if n >= 3:
                    totals.append(elapsed)
                    created = datetime.fromisoformat(task["created_at"])
                    queue_waits.append((datetime.fromisoformat(task["started_at"]) - created).total_seconds())
                assert r.status_code == 200, r.text
        return totals, queue_waits
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--record", action="store_true", help="append the result to bench/results.jsonl")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slmgen-bench-tasks-"))
    try:
        work = in_process_seconds(args.tasks)
        totals, waits = through_engine_seconds(args.tasks, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "bench": "task_overhead",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "tasks": args.tasks,
        "in_process_analysis_ms_median": round(statistics.median(work) * 1000, 1),
        "through_engine_ms_median": round(statistics.median(totals) * 1000, 1),
        "through_engine_ms_p90": round(percentile([t * 1000 for t in totals], 90), 1),
        "overhead_ms_median": round((statistics.median(totals) - statistics.median(work)) * 1000, 1),
        "queued_to_running_ms_median": round(statistics.median(waits) * 1000, 1),
    }
    print(json.dumps(result, indent=2))
    if args.record:
        with open(REPO / "bench" / "results.jsonl", "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
