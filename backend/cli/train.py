"""`slmgen train DATA --model MODEL -o DIR`: a training run in this process, with a progress bar and the loss.

DATA is canonical JSONL (or an analysis store directory); other dataset files go through the same ingest as
an upload first. The run is the task body the server's workers run (backend.services.training), over a
LocalContext: its adapter, results file and any checkpoint land in DIR. Ctrl-C stops after the current step
and keeps a checkpoint, as the Stop button does.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from backend.cli.notebook import CONFIG_OPTIONS, read_examples
from backend.core.errors import CoreError

TASK_CHOICES = ("chat_sft", "text_classification", "seq2seq", "dpo")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("train", help="fine-tune a model on a dataset here (CPU or GPU), with a progress bar")
    parser.add_argument("dataset", type=Path, help="canonical JSONL, an analysis store folder, or any dataset file")
    parser.add_argument(
        "--model",
        default=None,
        metavar="MODEL",
        help="catalogue id, Hub id or model folder (default: a packaged small model)",
    )
    parser.add_argument(
        "--catalogue-model",
        default=None,
        metavar="MODEL_ID",
        help="the catalogue entry whose facts apply to a Hub id or folder given as --model",
    )
    parser.add_argument("--task", choices=TASK_CHOICES, default="chat_sft")
    for flag, kind, field in CONFIG_OPTIONS:
        if field not in ("num_epochs", "eval_share", "seed"):
            parser.add_argument(f"--{flag}", type=kind, default=None, dest=field, help="default: the catalogue's")
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--eval-share", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--num-labels", type=int, default=None, help="text_classification: the label count")
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--merge", action="store_true", help="also save base + adapter merged (16-bit)")
    parser.add_argument("--model-cache", type=Path, default=None, help="where packaged models are unpacked once")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder for the adapter and results")
    parser.set_defaults(handler=run_train)


def canonical_dataset(path: Path, output: Path) -> Path:
    """The dataset as canonical JSONL: a .jsonl of canonical examples or a store is used as it is."""
    if path.is_dir():
        return path
    if path.suffix == ".jsonl":
        with path.open("rb") as lines:
            first = next((line for line in lines if line.strip()), b"")
        try:
            record = json.loads(first)
        except ValueError:
            record = None
        if isinstance(record, dict) and ({"messages", "text", "prompt"} & set(record)):
            return path
    converted = output / "dataset.jsonl"
    with converted.open("w", encoding="utf-8") as out:
        for example in read_examples(path):
            out.write(json.dumps(example, ensure_ascii=False) + "\n")
    return converted


class ProgressBar:
    """A rich progress bar fed by the task's events (status lines, step metrics)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[loss]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.bar = self.progress.add_task("starting", total=None, loss="")

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "status":
            self.progress.update(self.bar, description=data["step"])
        elif kind == "progress":
            self.progress.update(self.bar, completed=data["done"], total=data["total"])
        elif kind == "metrics" and "loss" in data["values"]:
            values = data["values"]
            speed = f", {values['tokens_per_second']:.0f} tok/s" if values.get("tokens_per_second") else ""
            self.progress.update(self.bar, loss=f"loss {values['loss']:.4f}{speed}")
        elif kind == "metrics" and "eval_loss" in data["values"]:
            self.progress.console.print(f"step {data['values']['step']}: eval loss {data['values']['eval_loss']:.4f}")


def run_train(args: argparse.Namespace) -> int:
    from backend.services.tasks.context import LocalContext, TaskCancelled
    from backend.services.training import run_training

    if not args.dataset.exists():
        print(f"error: {args.dataset} does not exist", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    config = {
        field: getattr(args, field)
        for _, _, field in CONFIG_OPTIONS
        if field not in ("num_epochs", "eval_share", "seed") and getattr(args, field) is not None
    }
    payload: dict[str, Any] = {
        "base_model": args.model,
        "catalogue_model": args.catalogue_model,
        "task": args.task,
        "config": config,
        "epochs": args.epochs,
        "eval_split": args.eval_share,
        "seed": args.seed,
        "merge": args.merge,
        "num_labels": args.num_labels,
        "limits": {"max_examples": args.max_examples},
        "model_cache_dir": str(args.model_cache) if args.model_cache else None,
    }
    bar = ProgressBar()
    ctx = LocalContext(args.output, on_event=bar)

    def stop(signum: int, frame: FrameType | None) -> None:
        bar.progress.console.print("Stopping after the current step (a checkpoint is saved)…")
        ctx.cancel()

    previous = signal.signal(signal.SIGINT, stop)
    try:
        with bar.progress:
            payload["dataset"] = str(canonical_dataset(args.dataset, args.output))
            result = run_training(ctx, payload)
    except CoreError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
    except TaskCancelled:
        checkpoint = ctx.artifacts.get("checkpoint")
        where = f"; checkpoint in {args.output / checkpoint['path']}" if checkpoint else ""
        print(f"stopped{where}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    loss = result["final_train_loss"]
    print(
        f"trained {result['steps']} steps on {result['device']}"
        + (f", final training loss {loss:.4f}" if loss is not None else "")
    )
    for name, where in result["outputs"].items():
        print(f"{name}: {args.output / where}")
    print(f"results: {args.output / result['results']}")
    return 0
