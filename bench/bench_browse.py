"""Browsing an analysed dataset: how long GET /preview's search, filters and sort take on a large store.

    python bench/bench_browse.py --file b.jsonl            # analyses the file once, then times each query

It analyses the file into a store (inline, not timed), then runs each query several times, alternating, and
reports the median wall and CPU time per query in this process (the server runs the same code in a thread).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.browse import ExampleQuery, log_histogram, position_in, read_positions, select_examples, token_counts
from backend.services.previews import ScanCache

REPEATS = 5


def timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, required=True, help="a chat JSONL (from gen_chat_jsonl.py)")
    args = parser.parse_args()
    store = Path(tempfile.mkdtemp(prefix="bench-browse-"))
    report = analyze_file(args.file, AnalysisOptions(), store)
    store_mb = sum(p.stat().st_size for p in store.glob("chunk-*.jsonl")) / 1e6
    print(f"{report.total_examples:,} examples, store {store_mb:.1f} MB")

    def page(query: ExampleQuery, cache: ScanCache | None = None) -> None:
        lookup = cache.for_store(store) if cache is not None else None
        selection = select_examples(store, query, lookup)
        read_positions(store, selection.positions[:25])

    warm = ScanCache()
    page(ExampleQuery(text="sourdough"), warm)  # filled once: what paging through results costs afterwards
    middle = report.total_examples // 2
    cases: dict[str, Callable[[], object]] = {
        "search text (first page: full scan)": lambda: page(ExampleQuery(text="sourdough")),
        "search text + role assistant (full scan)": lambda: page(ExampleQuery(text="sourdough", role="assistant")),
        "search text, next page (cached scan)": lambda: page(ExampleQuery(text="sourdough"), warm),
        "length filter + sort by tokens (index only)": lambda: page(ExampleQuery(min_tokens=100, sort="tokens_desc")),
        "jump to a record (index only)": lambda: position_in(store, select_examples(store, ExampleQuery()), middle),
        "log histogram of all lengths": lambda: log_histogram(token_counts(store)),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(REPEATS):  # alternating, so a busy moment on the machine spreads over every case
        for name, run in cases.items():
            results[name].append(timed(run))
    print("| query | wall (median) | CPU (median) |")
    print("|---|---|---|")
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"| {name} | {wall * 1000:,.1f} ms | {cpu * 1000:,.1f} ms |")


if __name__ == "__main__":
    main()
