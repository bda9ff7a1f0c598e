"""`slmgen generate MODE`: synthetic data on this machine, with the same options as the routes.

    slmgen generate inputs    --description "…" --seed "…" --seed "…" -n 50 -o inputs.jsonl     (seed 004)
    slmgen generate examples  --task "…" -n 100 --from-dataset data.jsonl -o grown.jsonl
    slmgen generate view      --prompt "…" --task text_classification --labels spam,ham -n 40 -o view.jsonl
    slmgen generate questions --content-file doc.txt --multiple-chunks --judge -n 30 -o qa.jsonl  (seed 000)

The estimate is printed before anything is sent (`--estimate` prints it and stops). Rows go to OUTPUT as
JSONL with their provenance; `--dataset FILE` also writes them as a chat dataset that `slmgen analyze`
reads. Work happens under OUTPUT.parts/<attempt>/: run the same command again after a failure or Ctrl-C
and it continues from the rows already made. Providers and keys come from the settings (LLM_BASE_URL,
LLM_MODEL, OPENAI_API_KEY, LLM_PROVIDERS): a key is never an option, so it stays out of shell history.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from backend.cli.analyze import positive_int

MODES = ("inputs", "examples", "view", "questions")
EXPLORATION = ("CONSERVATIVE", "BALANCED", "CREATIVE", "ADVENTUROUS")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("generate", help="generate synthetic data with an LLM provider")
    modes = p.add_subparsers(dest="mode", required=True, metavar="MODE")
    inputs = _mode_parser(modes, "inputs", "new LLM inputs from seed inputs (seed 004)")
    inputs.add_argument("--description", required=True, help="the application the inputs are for")
    inputs.add_argument("--seed", action="append", default=[], help="an example input (repeat the option)")
    inputs.add_argument("--seeds-file", type=Path, help="example inputs, one per line")
    inputs.add_argument("--num-shots", type=int, default=5)
    examples = _mode_parser(modes, "examples", "whole training examples for a task described in words")
    examples.add_argument("--task", required=True, help="what the trained model should do")
    examples.add_argument("--turns", type=int, default=1, help="user turns per example")
    examples.add_argument("--system-prompt")
    examples.add_argument("--from-dataset", type=Path, help="canonical JSONL to sample seeds from (grow it)")
    examples.add_argument("--num-seed-examples", type=int, default=20)
    examples.add_argument("--num-shots", type=int, default=3)
    view = _mode_parser(modes, "view", "text classification or seq2seq rows (seed 000 /data/view)")
    view.add_argument("--prompt", required=True)
    view.add_argument("--task", choices=("text_classification", "seq2seq"), required=True)
    view.add_argument("--num-labels", type=int, default=2)
    view.add_argument("--labels", help="comma-separated label names (default: the model proposes them)")
    view.add_argument("--valid-data", type=Path, help="JSONL of good examples to imitate")
    view.add_argument("--invalid-data", type=Path, help="JSONL of examples of what not to write")
    view.add_argument("--num-shots", type=int, default=5)
    questions = _mode_parser(modes, "questions", "question/answer pairs grounded in a text (seed 000 /question)")
    questions.add_argument("--content-file", type=Path, required=True)
    questions.add_argument("--index", type=int, default=0)
    questions.add_argument("--multiple-chunks", action="store_true")
    questions.add_argument("--chunk-tokens", type=int, default=512)
    questions.add_argument("--tokenizer", default="cl100k_base")
    questions.add_argument("--judge", action="store_true")
    questions.add_argument("--judge-threshold", type=int, default=4)


def _mode_parser(modes: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                 text: str) -> argparse.ArgumentParser:
    p = modes.add_parser(name, help=text)
    p.add_argument("-n", "--num", type=positive_int, required=True, help="rows to generate")
    p.add_argument("-o", "--output", type=Path, required=True, help="JSONL file for the rows (with provenance)")
    p.add_argument("--dataset", type=Path, help="also write the rows as a chat dataset file")
    p.add_argument("--provider", help="a configured provider name (default: the first)")
    p.add_argument("--batch-size", type=int, default=5)
    p.add_argument("--exploration-mode", choices=EXPLORATION, default=None)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--max-error-rate", type=float, default=0.5)
    p.add_argument("--max-tokens", type=int, help="cap on tokens written per request")
    p.add_argument("--max-batches", type=int)
    p.add_argument("--random-seed", type=int)
    p.add_argument("--estimate", action="store_true", help="print the cost estimate and stop")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run_generate)
    return p


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_payload(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """(estimate kind, payload) from the options: the same payload the routes queue."""
    common: dict[str, Any] = {"batch_size": args.batch_size, "concurrency": args.concurrency,
                              "max_error_rate": args.max_error_rate}
    for key in ("provider", "max_tokens", "max_batches", "random_seed", "exploration_mode"):
        if getattr(args, key) is not None:
            common[key] = getattr(args, key)
    if args.mode == "inputs":
        seeds = list(args.seed)
        if args.seeds_file:
            seeds += [line for line in args.seeds_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        return "inputs", {**common, "application_description": args.description, "num_inputs_to_generate": args.num,
                          "seeds": seeds, "num_shots": args.num_shots}
    if args.mode == "examples":
        payload = {**common, "task_description": args.task, "num_examples": args.num, "turns": args.turns,
                   "num_shots": args.num_shots, "num_seed_examples": args.num_seed_examples}
        if args.system_prompt:
            payload["system_prompt"] = args.system_prompt
        if args.from_dataset:
            payload["dataset_path"] = str(args.from_dataset.resolve())
        return "examples", payload
    if args.mode == "view":
        payload = {**common, "prompt": args.prompt, "num_samples": args.num, "task": args.task,
                   "num_labels": args.num_labels, "num_shots": args.num_shots}
        if args.labels:
            payload["labels"] = [name.strip() for name in args.labels.split(",") if name.strip()]
        if args.valid_data:
            payload["valid_data"] = _jsonl(args.valid_data)
        if args.invalid_data:
            payload["invalid_data"] = _jsonl(args.invalid_data)
        return "view", payload
    payload = {**common, "content": args.content_file.read_text(encoding="utf-8"), "index": args.index,
               "multiple_chunks": args.multiple_chunks, "num_samples": args.num, "chunk_tokens": args.chunk_tokens,
               "tokenizer": args.tokenizer, "judge": args.judge, "judge_threshold": args.judge_threshold}
    return "questions", payload


def next_attempt_dir(parts: Path) -> Path:
    numbers = [int(p.name) for p in parts.iterdir() if p.name.isdigit()] if parts.is_dir() else []
    return parts / str(max(numbers, default=0) + 1)


def run_generate(args: argparse.Namespace) -> int:
    from backend.core.errors import CoreError
    from backend.services.generation import bodies
    from backend.services.generation.estimate import estimate_generation
    from backend.settings import Settings

    settings = Settings()
    try:
        kind, payload = build_payload(args)
        estimate = estimate_generation(settings, kind, payload, any_dataset_path=True)
    except (CoreError, OSError, ValueError) as exc:
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 1
    cost = "unknown (no price)" if estimate["cost_usd"] is None else f"about ${estimate['cost_usd']:.4f}"
    print(f"estimate: {estimate['batches']} requests, {estimate['prompt_tokens']:,} prompt + "
          f"{estimate['completion_tokens']:,} completion tokens ({estimate['tokenizer']}), {cost}; "
          f"provider {estimate['provider']['label']}", file=sys.stderr)
    if estimate["provider"]["note"]:
        print(f"note: {estimate['provider']['note']}", file=sys.stderr)
    if args.estimate:
        return 0
    body = {"inputs": bodies.run_generate_inputs, "examples": bodies.run_generate_examples,
            "view": bodies.run_generate_view, "questions": bodies.run_generate_questions}[kind]
    work_dir = next_attempt_dir(args.output.with_name(args.output.name + ".parts"))
    try:
        result = _run_with_progress(body, work_dir, payload, settings, sys.stderr.isatty())
    except KeyboardInterrupt:
        kept = _copy_out(work_dir, args)
        print(f"interrupted: {kept} rows kept in {args.output}; run the same command again to continue",
              file=sys.stderr)
        return 130
    except CoreError as exc:
        kept = _copy_out(work_dir, args)
        print(f"error: {exc.detail}", file=sys.stderr)
        if kept:
            print(f"{kept} rows kept in {args.output}; run the same command again to continue", file=sys.stderr)
        return 1
    _copy_out(work_dir, args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(result["dropped"].items())) or "none"
        failed = ", ".join(f"{k} {v}" for k, v in sorted(result["batches"]["failed_by_reason"].items())) or "none"
        print(f"{result['rows']} of {result['requested']} rows written to {args.output}")
        print(f"requests: {result['batches']['sent']} (failed: {failed}); dropped rows: {dropped}")
        usage = result["usage"]
        spent = "" if usage["cost_usd"] is None else f", ${usage['cost_usd']:.4f}"
        print(f"usage: {usage['prompt_tokens']:,} prompt + {usage['completion_tokens']:,} completion tokens{spent}")
        if result["warning"]:
            print(f"note: {result['warning']}")
    return 0


def _run_with_progress(body: Any, work_dir: Path, payload: dict[str, Any], settings: Any,
                       show: bool) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from backend.services.generation import bodies
    from backend.services.tasks.context import LocalContext

    extra = {"any_dataset_path": True} if body is bodies.run_generate_examples else {}
    if not show:
        return dict(body(LocalContext(work_dir), payload, settings=settings, **extra))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "progress":
                bar.update(task, completed=data["done"], total=data["total"])
            elif kind == "status":
                bar.update(task, description=str(data["step"])[:60])

        return dict(body(LocalContext(work_dir, on_event=on_event), payload, settings=settings, **extra))


def _copy_out(work_dir: Path, args: argparse.Namespace) -> int:
    from backend.core.generation.rows import ROWS_FILE, read_manifest, read_rows, write_chat_dataset

    rows_file = work_dir / ROWS_FILE
    if not rows_file.exists():
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rows_file, args.output)
    manifest = read_manifest(work_dir) or {}
    if args.dataset and manifest.get("mode"):
        write_chat_dataset(rows_file, str(manifest["mode"]), args.dataset)
    return len(read_rows(rows_file))
