"""Datasets out: related groups, fix plan and apply, exports, leak-free splits and Parquet, on one file.

    python bench/bench_datasets_out.py DATASET.jsonl

DATASET is analysed first (2 worker processes; not timed here, see bench_analysis.py). Each step then runs in
this process and reports CPU seconds (process_time: steadier than wall time on a shared machine), wall
seconds, and for the streams the peak Python heap they allocated (tracemalloc, in a second run), which must
not grow with the dataset. Goals for 100,000 examples (79 MB): every step under 10 CPU-s; exports stream in
bounded memory (peak heap under 16 MB however large the file).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.export import ExportFormat, export_store, iter_store
from backend.core.fix import FixAction, apply_fixes, plan_fixes
from backend.core.related import find_related
from backend.core.split import assign_splits, shares_from_percentages
from backend.services.hub.parquet import SplitFiles, to_row

FIXES = [FixAction.DROP_EXACT_DUPLICATES, FixAction.DROP_NEAR_DUPLICATES, FixAction.MASK_PII]


def measure(name: str, work: Callable[[], Any], *, heap: bool = False) -> tuple[str, float, float, float | None, Any]:
    """CPU and wall time of one run; with heap=True, a second run under tracemalloc (which slows allocation
    several-fold, so its time is not the one reported) gives the peak heap."""
    cpu, wall = time.process_time(), time.perf_counter()
    value = work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = None
    if heap:
        tracemalloc.start()
        work()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return name, cpu, wall, peak, value


def drain(blocks: Iterator[bytes]) -> int:
    return sum(len(b) for b in blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dataset", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-out-") as tmp:
        store = Path(tmp) / "store"
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            report = analyze_file(args.dataset, AnalysisOptions(), store, executor=pool)
        n = report.total_examples
        print(f"{args.dataset.name}: {n:,} examples, {args.dataset.stat().st_size / 1e6:.1f} MB")
        rows: list[tuple[str, float, float, float | None, Any]] = []
        rows.append(measure("find_related (exact, near, prompt groups)", lambda: find_related(store)))
        related = rows[-1][4]
        rows.append(measure("plan_fixes (exact + near + mask PII)", lambda: plan_fixes(store, report, FIXES)))
        rows.append(measure("apply_fixes (same, file written)",
                            lambda: apply_fixes(store, report, FIXES, Path(tmp) / "fixed.jsonl"), heap=True))
        for fmt in ExportFormat:
            rows.append(measure(f"export {fmt.value}", lambda fmt=fmt: drain(export_store(store, fmt)), heap=True))
        rows.append(measure("export canonical, gzip",
                            lambda: drain(export_store(store, ExportFormat.CANONICAL, gzip=True)), heap=True))
        components = related.components()
        rows.append(measure("assign_splits 80/10/10",
                            lambda: assign_splits(components, shares_from_percentages([80, 10, 10]), seed=42)))
        names = rows[-1][4]

        def parquet() -> dict[str, int]:
            files = SplitFiles(Path(tmp) / "parquet")
            for (_, example), split in zip(iter_store(store), names, strict=True):
                files.add(split, f"data/{split}.parquet", to_row(example))
            return files.close()

        rows.append(measure("Parquet, three splits", parquet, heap=True))
        print("| step | CPU s | wall s | examples per CPU-s | peak heap MB | output |")
        print("|---|---|---|---|---|---|")
        for name, cpu, wall, peak, value in rows:
            output = f"{value / 1e6:.1f} MB" if isinstance(value, int) else ""
            heap = f"{peak:.1f}" if peak is not None else "–"
            print(f"| {name} | {cpu:.2f} | {wall:.2f} | {n / cpu:,.0f} | {heap} | {output} |")


if __name__ == "__main__":
    main()
