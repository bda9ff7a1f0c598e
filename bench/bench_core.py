#!/usr/bin/env python3
"""Micro-benchmark of the analysis core in one process: CPU seconds per phase, best of several runs.

The whole-server benchmark (bench_analysis.py) measures wall time, which on a shared machine says
more about the other work than about ours. This one runs plan + every chunk + the merge inline, in
this process, `--runs` times, and prints the smallest CPU time of each phase (the timings the
report carries: cpu_parse, cpu_tokenize, cpu_examples, cpu_minhash; and the merge). Run it in
alternation with another checkout (put that checkout first on PYTHONPATH) to compare the two.

    python bench/bench_core.py --file b.jsonl --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import backend
from backend.core.analysis import AnalysisOptions, analyze_chunk, merge_results, plan_analysis
from backend.core.analysis.worker import cached_batch_counter


def one_run(path: Path) -> dict[str, float]:
    options = AnalysisOptions()
    store = Path(tempfile.mkdtemp(prefix="slmgen-core-"))
    try:
        plan = plan_analysis(path, options)
        results = [analyze_chunk(plan, n, store) for n in range(len(plan.chunks))]
        started = time.process_time()
        merge_results(plan, results, store)
        phases = {"merge": time.process_time() - started}
        for result in results:
            for phase, seconds in result.timings.items():
                phases[phase] = phases.get(phase, 0.0) + seconds
        return phases
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cached_batch_counter(AnalysisOptions().tokenizer)  # a worker has its tokenizer loaded already
    runs = [one_run(args.file) for _ in range(args.runs)]
    best = {phase: round(min(run[phase] for run in runs), 3) for phase in runs[0]}
    best["cpu_total"] = round(sum(v for k, v in best.items() if k.startswith("cpu_")), 3)
    print(json.dumps({"checkout": os.path.dirname(os.path.dirname(backend.__file__)).rsplit("/", 1)[-1],
                      "file_mb": round(args.file.stat().st_size / 1e6, 1), "runs": args.runs, "best_cpu_s": best}))


if __name__ == "__main__":
    main()
