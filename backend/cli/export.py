"""`slmgen export FILE --format openai [--fix ACTION]... [--gzip] -o OUT`: the dataset, converted and cleaned.

The file is analysed as an upload would be; the chosen fix actions are counted (and, unless --plan,
applied); then every kept example is written in the chosen format, one per line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from backend.cli.analyze import analyze_with_progress, positive_int
from backend.core.analysis import AnalysisOptions, Report
from backend.core.errors import CoreError
from backend.core.export import ExportFormat, check_export, export_lines, gzip_blocks, iter_store, parse_format
from backend.core.fix import ACTION_ORDER, FixAction, FixPlan, FixResult, apply_fixes, plan_fixes


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help="convert (and clean) a dataset file: canonical, openai, sharegpt or alpaca")
    p.add_argument("file", type=Path)
    p.add_argument("--format", default="canonical", choices=[f.value for f in ExportFormat])
    add_fix_options(p)
    p.add_argument("--plan", action="store_true", help="only print what the fixes would do; write nothing")
    p.add_argument("--gzip", action="store_true", help="gzip the output")
    p.add_argument("-o", "--output", type=Path, help="where to write (default: standard output)")
    p.set_defaults(handler=run_export)


def add_fix_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fix", action="append", default=[], choices=[a.value for a in ACTION_ORDER], metavar="ACTION",
                   help=f"a fix action, repeatable: {', '.join(a.value for a in ACTION_ORDER)}")
    p.add_argument("--max-seq-length", type=positive_int, default=2048, help="for the over-length fixes")
    p.add_argument("--tokenizer", default="cl100k_base", help="tokenizer to count with")
    p.add_argument("--workers", type=positive_int, default=2, help="analysis worker processes (default 2)")


def describe_plan(plan: FixPlan) -> str:
    lines = [f"{plan.records_before:,} records, {plan.examples_before:,} usable examples"]
    for o in plan.outcomes:
        what = f"{o.removed:,} removed" if o.removed or not o.changed else f"{o.changed:,} changed"
        lines.append(f"  {o.action.value}: {o.before:,} -> {o.after:,} ({what}): {o.description}")
    lines.append(f"{plan.examples_after:,} examples after the fixes")
    return "\n".join(lines)


def analysed_and_fixed(args: argparse.Namespace, work: Path) -> tuple[Path, Report, FixResult | None]:
    """Analyse the file into a store; with --fix, apply the fixes and analyse the fixed file instead."""
    options = AnalysisOptions(max_seq_length=args.max_seq_length, tokenizer=args.tokenizer)
    show = sys.stderr.isatty()
    store = work / "store"
    report = analyze_with_progress(args.file, options, args.workers, show, store)
    if not args.fix:
        return store, report, None
    fixed = work / "fixed.jsonl"
    result = apply_fixes(store, report, [FixAction(a) for a in args.fix], fixed)
    print(describe_plan(result.plan), file=sys.stderr)
    fixed_store = work / "fixed-store"
    return fixed_store, analyze_with_progress(fixed, options, args.workers, show, fixed_store), result


def run_export(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    fmt = parse_format(args.format)
    try:
        with tempfile.TemporaryDirectory(prefix="slmgen-export-") as tmp:
            if args.plan:
                if not args.fix:
                    print("error: --plan needs at least one --fix ACTION", file=sys.stderr)
                    return 2
                options = AnalysisOptions(max_seq_length=args.max_seq_length, tokenizer=args.tokenizer)
                store = Path(tmp) / "store"
                report = analyze_with_progress(args.file, options, args.workers, sys.stderr.isatty(), store)
                print(describe_plan(plan_fixes(store, report, [FixAction(a) for a in args.fix])))
                return 0
            store, _, _ = analysed_and_fixed(args, Path(tmp))
            check_export(iter_store(store), fmt)
            blocks = export_lines(iter_store(store), fmt)
            out = gzip_blocks(blocks) if args.gzip else blocks
            written = write_output(out, args.output)
    except CoreError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    if args.output is not None:
        print(f"wrote {written:,} bytes of {fmt.value} JSON Lines to {args.output}", file=sys.stderr)
    return 0


def write_output(blocks: Iterator[bytes], output: Path | None) -> int:
    size = 0
    if output is None:
        for block in blocks:
            sys.stdout.buffer.write(block)
            size += len(block)
        sys.stdout.buffer.flush()
        return size
    tmp = output.with_name(f".{output.name}.part")
    try:
        with tmp.open("wb") as f:
            for block in blocks:
                f.write(block)
                size += len(block)
        tmp.replace(output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size
