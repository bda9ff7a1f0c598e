"""The dataset analysis: a Report of counts, distributions, checks, duplicates and a quality score.

    plan = plan_analysis(path, options)                    # sniff the file, split it into chunks
    results = [analyze_chunk(plan, n, store) for n in ...]  # in worker processes, any order
    report = merge_results(plan, results, store)            # global record numbers, groups, score

or all three at once with `analyze_file(path, options, store, executor=pool)`. Each chunk's
worker also writes its usable examples, canonical, to the store (see store.py), which the
preview pages through without parsing the upload again.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path

from backend.core.analysis.chunk import ChunkResult
from backend.core.analysis.merge import merge_results
from backend.core.analysis.plan import AnalysisOptions, AnalysisPlan, plan_analysis
from backend.core.analysis.report import Report
from backend.core.analysis.store import (
    StoredExample,
    count_examples,
    iter_canonical,
    read_examples,
    read_examples_by_index,
)
from backend.core.analysis.worker import analyze_chunk

__all__ = [
    "AnalysisOptions",
    "AnalysisPlan",
    "ChunkResult",
    "Report",
    "StoredExample",
    "analyze_chunk",
    "analyze_file",
    "count_examples",
    "iter_canonical",
    "merge_results",
    "plan_analysis",
    "read_examples",
    "read_examples_by_index",
]


def analyze_file(
    path: Path,
    options: AnalysisOptions,
    store_dir: Path,
    *,
    executor: concurrent.futures.Executor | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Report:
    """Plan, analyse every chunk (in `executor`, or inline), merge. Progress goes 0..1 as chunks finish."""
    started = time.perf_counter()
    store_dir.mkdir(parents=True, exist_ok=True)
    plan = plan_analysis(path, options)
    planned = time.perf_counter()
    total = len(plan.chunks)
    results: list[ChunkResult] = []
    if executor is None:
        for chunk_no in range(total):
            results.append(analyze_chunk(plan, chunk_no, store_dir))
            _report_progress(on_progress, len(results), total)
    else:
        futures = [executor.submit(analyze_chunk, plan, n, store_dir) for n in range(total)]
        try:
            for future in concurrent.futures.as_completed(futures):
                results.append(future.result())
                _report_progress(on_progress, len(results), total)
        finally:
            for future in futures:
                future.cancel()
    analysed = time.perf_counter()
    report = merge_results(plan, results, store_dir)
    finished = time.perf_counter()
    if on_progress is not None:
        on_progress(1.0)
    timings = {
        **report.timings,
        "plan": round(planned - started, 4),
        "chunks": round(analysed - planned, 4),
        "merge": round(finished - analysed, 4),
        "total": round(finished - started, 4),
    }
    return report.model_copy(update={"timings": timings})


def _report_progress(on_progress: Callable[[float], None] | None, done: int, total: int) -> None:
    if on_progress is not None:
        # merging is the last step: hold back the final 1% until the report exists
        on_progress(0.99 * done / total if total else 0.99)
