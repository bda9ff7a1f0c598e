"""Notebook generation speed and embedded size.

    python bench/bench_notebook.py DATASET.jsonl [--model MODEL_ID]

DATASET is canonical chat JSONL (e.g. the benchmark generator's 100,000-example file). Prints the time to
plan + render + serialise a notebook, for the data loaded from a Hub dataset (the path above the embed limit)
and embedded (the limit lifted so the 100k file is embedded too), and the embedded notebook's size as a
share of the dataset file's size. Targets: <= 2 s for 100,000 examples; embedded size <= 0.4x the dataset.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import orjson

from backend.core.catalog import load_catalog
from backend.core.notebook import DataSource, TrainingConfig, notebook_bytes, plan_notebook, render_notebook


def measure(path: Path, model_id: str, source: DataSource, embed_limit: int) -> tuple[float, int, int]:
    entry = load_catalog().get(model_id)
    examples = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    start = time.perf_counter()
    plan = plan_notebook(entry, examples, None, TrainingConfig(), source, embed_limit_bytes=embed_limit)
    data = notebook_bytes(render_notebook(plan))
    return time.perf_counter() - start, len(data), plan.stats.num_examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--model", default="qwen2.5-1.5b-instruct")
    args = parser.parse_args()
    size = args.dataset.stat().st_size
    for label, source in (("hub source", DataSource("hub", "owner/dataset")), ("embedded", DataSource())):
        seconds, nb_size, count = measure(args.dataset, args.model, source, embed_limit=1 << 40)
        print(
            f"{label:>10}: {count:,} examples in {seconds:.2f} s; notebook {nb_size / 1e6:.2f} MB "
            f"= {nb_size / size:.3f}x the dataset ({size / 1e6:.1f} MB)"
        )


if __name__ == "__main__":
    main()
