"""The dataset analysis: a Report of counts, distributions, checks, duplicates and a quality score.

    plan = plan_analysis(path, options)                    # sniff the file, split it into chunks
    results = [analyze_chunk(plan, n, store) for n in ...]  # in worker processes, any order
    report = merge_results(plan, results, store)            # global record numbers, groups, score

or all three at once with `analyze_file(path, options, store, executor=pool)`. With an executor the
chunk results travel through files in the store and the merge runs in the executor too, so the
calling process (the web server) never holds per-example data, however large the file. Each chunk's
worker also writes its usable examples, canonical, to the store (see store.py), which the
preview pages through without parsing the upload again; the merge keeps the complete record list
of every issue and every duplicate group there too (lists.py), for paging.

Where things live: columns.py (the per-example table), worker.py (one chunk), combined.py and
merge.py (all chunks -> Report, one function per section in sections.py), duplicates.py,
file_issues.py and score.py (what is found and what it costs), store.py and lists.py (what stays
on disk and how it is read back).
"""

from __future__ import annotations

import concurrent.futures
import pickle
import time
from collections.abc import Callable
from pathlib import Path

from backend.core.analysis.chunk import ChunkResult
from backend.core.analysis.lists import GroupPage, RecordPage, read_duplicate_groups, read_issue_records
from backend.core.analysis.merge import merge_results
from backend.core.analysis.plan import AnalysisOptions, AnalysisPlan, plan_analysis
from backend.core.analysis.report import Report
from backend.core.analysis.store import (
    StoredExample,
    count_examples,
    iter_canonical,
    read_examples,
    read_examples_by_index,
    record_numbers,
)
from backend.core.analysis.worker import analyze_chunk

__all__ = [
    "AnalysisOptions",
    "AnalysisPlan",
    "ChunkResult",
    "GroupPage",
    "RecordPage",
    "Report",
    "StoredExample",
    "analyze_chunk",
    "analyze_file",
    "count_examples",
    "iter_canonical",
    "merge_results",
    "plan_analysis",
    "read_duplicate_groups",
    "read_examples",
    "read_examples_by_index",
    "read_issue_records",
    "record_numbers",
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
        analysed = time.perf_counter()
        report = merge_results(plan, results, store_dir)
    else:
        futures = [executor.submit(analyze_chunk_to_file, plan, n, store_dir) for n in range(total)]
        result_files: list[Path] = []
        try:
            for future in concurrent.futures.as_completed(futures):
                result_files.append(future.result())
                _report_progress(on_progress, len(result_files), total)
        finally:
            for future in futures:
                future.cancel()
        analysed = time.perf_counter()
        report = executor.submit(merge_result_files, plan, sorted(result_files), store_dir).result()
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


def analyze_chunk_to_file(plan: AnalysisPlan, chunk_no: int, store_dir: Path) -> Path:
    """analyze_chunk, with the result left in the store for merge_result_files (runs in a worker)."""
    result = analyze_chunk(plan, chunk_no, store_dir)
    path = store_dir / f"chunk-result-{chunk_no:06d}.pickle"
    with open(path, "wb") as f:
        pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def merge_result_files(plan: AnalysisPlan, result_files: list[Path], store_dir: Path) -> Report:
    """merge_results over results left by analyze_chunk_to_file; removes them once merged."""
    results = []
    for path in result_files:
        with open(path, "rb") as f:
            results.append(pickle.load(f))  # our own files, written moments ago by our own workers
    report = merge_results(plan, results, store_dir)
    for path in result_files:
        path.unlink(missing_ok=True)
    return report


def _report_progress(on_progress: Callable[[float], None] | None, done: int, total: int) -> None:
    if on_progress is not None:
        # merging is the last step: hold back the final 1% until the report exists
        on_progress(0.99 * done / total if total else 0.99)
