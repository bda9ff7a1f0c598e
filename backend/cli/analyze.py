"""`slmgen analyze FILE`: the same report as the API, on this machine, with a progress bar."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console

from backend.core.analysis import AnalysisOptions, Report, analyze_file
from backend.core.errors import CoreError
from backend.core.ingest import IngestOptions
from backend.core.ingest.mapping import parse_map_arguments


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("analyze", help="analyse a dataset file and print its report")
    p.add_argument("file", type=Path)
    p.add_argument("--max-seq-length", type=int, default=2048, help="predict truncation against this many tokens")
    p.add_argument("--tokenizer", default="cl100k_base", help="tokenizer to count with (see the README)")
    p.add_argument("--json", action="store_true", help="print the API's JSON instead of a summary")
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes (default 2)")
    add_map_argument(p)
    p.add_argument("--max-listed", type=max_listed, default=8, metavar="N|all",
                   help="record numbers listed per issue and per duplicate kind (default 8; 'all' lists every "
                        "one, from the analysis's complete lists)")
    p.set_defaults(handler=run_analyze)


ALL = 10**12


def add_map_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", action="append", default=[], metavar="FIELD=NAME|role:NAME=ROLE",
                        help="read your own field or role names: prompt=question, completion=answer, "
                             "messages=dialog, role=speaker, content=text, role:bot=assistant (repeatable)")


def ingest_options(args: argparse.Namespace) -> IngestOptions:
    fields, roles = parse_map_arguments(args.map)
    return IngestOptions(column_mapping=fields, role_mapping=roles)


def max_listed(text: str) -> int:
    """An argparse type: a whole number of 0 or more, or 'all'."""
    if text.strip().lower() == "all":
        return ALL
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of 0 or more, or 'all', not {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse names the option in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def analyze_with_progress(path: Path, options: AnalysisOptions, workers: int, show_progress: bool,
                          store: Path) -> Report:
    """Analyse `path` in worker processes into `store`; a progress bar on stderr when it is a terminal."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        if not show_progress:
            return analyze_file(path, options, store, executor=pool)
        with Progress(TextColumn("analysing {task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), transient=True, console=_stderr_console()) as bar:
            task = bar.add_task(path.name, total=1.0)
            return analyze_file(path, options, store, executor=pool,
                                on_progress=lambda f: bar.update(task, completed=f))


def _stderr_console() -> Console:
    return Console(stderr=True)


def run_analyze(args: argparse.Namespace) -> int:
    from backend.services.reports import analysis_payload

    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="slmgen-") as folder:
        store = Path(folder)
        try:
            options = AnalysisOptions(max_seq_length=args.max_seq_length, tokenizer=args.tokenizer,
                                      max_examples_listed=args.max_listed, allow_tokenizer_download=True,
                                      ingest=ingest_options(args))
            report = analyze_with_progress(args.file, options, args.workers, sys.stderr.isatty(), store)
        except CoreError as exc:
            if args.json:
                print(json.dumps(exc.to_dict(), indent=2))
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(analysis_payload(None, report), indent=2, ensure_ascii=False))
        else:
            from backend.cli.render import print_report_summary

            print_report_summary(report, args.file.name, store=store, max_listed=args.max_listed)
    return 0
