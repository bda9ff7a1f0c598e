"""`slmgen notebook FILE --model MODEL_ID -o OUT.ipynb`: the Colab fine-tuning notebook for a dataset file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from backend.cli.analyze import add_map_argument, ingest_options
from backend.core.analysis.preference import check_sft_examples
from backend.core.catalog import load_catalog
from backend.core.errors import CoreError
from backend.core.ingest import IngestOptions
from backend.core.notebook import DataSource, TrainingConfig, notebook_bytes, plan_notebook, render_notebook

CONFIG_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("epochs", float, "num_epochs"),
    ("lora-rank", int, "lora_rank"),
    ("lora-alpha", int, "lora_alpha"),
    ("learning-rate", float, "learning_rate"),
    ("max-steps", int, "max_steps"),
    ("batch-size", int, "batch_size"),
    ("grad-accum", int, "grad_accum"),
    ("max-seq-length", int, "max_seq_length"),
    ("eval-share", float, "eval_share"),
    ("seed", int, "seed"),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("notebook", help="generate the Colab fine-tuning notebook for a dataset file")
    parser.add_argument("file", type=Path)
    parser.add_argument("--model", required=True, metavar="MODEL_ID", help="a model id from `slmgen models`")
    parser.add_argument("--task", default=None, help="what the model will do (noted in the notebook)")
    for flag, kind, field in CONFIG_OPTIONS:
        parser.add_argument(f"--{flag}", type=kind, default=None, dest=field, help="default: the catalogue's")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset-url", default=None, help="load the data from this JSONL URL, not embedded")
    source.add_argument(
        "--hub-dataset", default=None, help="load the data from this Hub dataset (owner/name)"
    )
    add_map_argument(parser)
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the .ipynb")
    parser.set_defaults(handler=run_notebook)


def read_examples(path: Path, options: IngestOptions | None = None) -> Iterator[dict[str, Any]]:
    """Canonical conversations of a file, read by the same ingest the upload uses."""
    from backend.core.ingest.reader import iter_records
    from backend.core.ingest.sniff import sniff_file

    options = options or IngestOptions()
    for record in iter_records(path, sniff_file(path, options), options=options):
        if record.conversation is not None:
            yield record.conversation.to_json()


def run_notebook(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    try:
        config = TrainingConfig(**{field: getattr(args, field) for _, _, field in CONFIG_OPTIONS})
    except ValidationError as error:
        for problem in error.errors():
            print(f"--{str(problem['loc'][0]).replace('_', '-')}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        entry = load_catalog().get(args.model)
        if args.dataset_url:
            source = DataSource("url", args.dataset_url)
        elif args.hub_dataset:
            source = DataSource("hub", args.hub_dataset)
        else:
            source = DataSource()
        reasons = [f"Task: {args.task}"] if args.task else []
        plan = plan_notebook(
            entry,
            check_sft_examples(read_examples(args.file, ingest_options(args))),  # preference data: refused
            None,
            config,
            source,
            dataset_name=args.file.name,
            reasons=reasons,
        )
        data = notebook_bytes(render_notebook(plan))
    except CoreError as error:
        print(error.detail, file=sys.stderr)
        return 2
    args.output.write_bytes(data)
    print(
        f"{args.output}: {plan.stats.num_examples} examples for {plan.model.name}, {len(data) / 1e6:.2f} MB"
        + (
            f" ({plan.stats.skipped_count} examples left out, listed in the notebook)"
            if plan.stats.skipped_count
            else ""
        )
    )
    print(
        "Open it in Colab: File → Upload notebook (https://colab.research.google.com), "
        "then Runtime → Run all."
    )
    return 0
